"""StatefulSets → Pods (on the Store only): template hashes, ordered (or Parallel) Pods with
volumeClaimTemplates, and their status. Deployments are rolled out through ReplicaSets by
controllers/rollouts.py."""
import hashlib
import json

from .base import controller_of, owner_ref, set_status


def template_hash(tpl: dict) -> str:
    """A pod-template-hash-like string for a template."""
    h = int(hashlib.sha256(json.dumps(tpl, sort_keys=True).encode()).hexdigest()[:12], 16)
    alphabet, out = "bcdfghjklmnpqrstvwxz2456789", ""
    for _ in range(10):
        out += alphabet[h % len(alphabet)]
        h //= len(alphabet)
    return out


def is_ready(pod: dict) -> bool:
    for c in (pod.get("status") or {}).get("conditions") or []:
        if c.get("type") == "Ready":
            return c.get("status") == "True"
    return False


def owned_pods(store, obj) -> list[dict]:
    uid = obj["metadata"]["uid"]
    return [p for p in store.list("Pod", obj["metadata"].get("namespace"))
            if (controller_of(p) or {}).get("uid") == uid and not p["metadata"].get("deletionTimestamp")]


def new_pod(store, owner, name, tpl, extra_labels, api_version, volumes_extra=()):
    tpl = json.loads(json.dumps(tpl))
    md = tpl.get("metadata") or {}
    labels = dict(md.get("labels") or {})
    labels.update(extra_labels)
    spec = tpl.get("spec") or {}
    spec.setdefault("restartPolicy", "Always")
    spec["nodeName"] = "sandbox-node"
    if volumes_extra:
        spec["volumes"] = list(spec.get("volumes") or []) + list(volumes_extra)
    pod = {"apiVersion": "v1", "kind": "Pod",
           "metadata": {"name": name, "namespace": owner["metadata"].get("namespace"), "labels": labels,
                        "annotations": dict(md.get("annotations") or {}),
                        "ownerReferences": [owner_ref(owner, api_version)]},
           "spec": spec, "status": {"phase": "Pending", "qosClass": "BestEffort"}}
    try:
        return store.create(pod)
    except Exception:  # noqa: BLE001 - name clash etc.; the next reconcile retries
        return None


def reconcile_statefulset(store, ns, name):
    sts = store.get("StatefulSet", ns, name)
    if sts is None:
        return
    spec = sts.get("spec") or {}
    replicas = spec.get("replicas", 1)
    tpl = spec.get("template") or {}
    rev = f"{name}-{template_hash(tpl)}"
    pods = {p["metadata"]["name"]: p for p in owned_pods(store, sts)}
    selector = ((spec.get("selector") or {}).get("matchLabels")) or {}
    for pname, p in list(pods.items()):
        try:
            ordinal = int(pname.rsplit("-", 1)[1])
        except (IndexError, ValueError):
            ordinal = 10 ** 9
        outdated = (p["metadata"].get("labels") or {}).get("controller-revision-hash") != rev
        if ordinal >= replicas or outdated:
            store.delete("Pod", ns, pname)
            del pods[pname]
    parallel = spec.get("podManagementPolicy") == "Parallel"
    for i in range(replicas):
        pname = f"{name}-{i}"
        if pname in pods:
            if not parallel and not is_ready(pods[pname]):
                break
            continue
        vols = []
        for vct in spec.get("volumeClaimTemplates") or []:
            vname = (vct.get("metadata") or {}).get("name", "data")
            cname = f"{vname}-{name}-{i}"
            vols.append({"name": vname, "persistentVolumeClaim": {"claimName": cname}})
            if store.get("PersistentVolumeClaim", ns, cname) is None:
                pvc = {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                       "metadata": {"name": cname, "namespace": ns,
                                    "labels": dict(((vct.get("metadata") or {}).get("labels") or {}), **selector)},
                       "spec": json.loads(json.dumps(vct.get("spec") or {}))}
                pvc["spec"].setdefault("volumeMode", "Filesystem")
                try:
                    store.create(pvc)
                except Exception:  # noqa: BLE001 - exists already
                    pass
        p = new_pod(store, sts, pname, tpl, {"controller-revision-hash": rev,
                                             "statefulset.kubernetes.io/pod-name": pname,
                                             "apps.kubernetes.io/pod-index": str(i)}, "apps/v1", vols)
        if p is not None:
            pods[pname] = p
        if not parallel:
            break
    ready = sum(1 for p in pods.values() if is_ready(p))
    updated = sum(1 for p in pods.values()
                  if (p["metadata"].get("labels") or {}).get("controller-revision-hash") == rev)

    def upd(o):
        st = o["status"]
        new = {"observedGeneration": o["metadata"].get("generation", 1), "replicas": len(pods),
               "readyReplicas": ready, "currentReplicas": updated, "updatedReplicas": updated,
               "availableReplicas": ready, "updateRevision": rev, "collisionCount": 0,
               "currentRevision": rev if updated == len(pods) else st.get("currentRevision", rev)}
        for k in ("readyReplicas", "currentReplicas", "updatedReplicas", "availableReplicas"):
            if not new[k]:
                new.pop(k)
        o["status"] = new
    set_status(store, "StatefulSet", ns, name, upd)
