"""Deployments → ReplicaSets → Pods, the way the real deployment and replicaset controllers do it:
one ReplicaSet per pod template (`NAME-<pod-template-hash>`, annotation
`deployment.kubernetes.io/revision`), rolling updates bounded by maxSurge/maxUnavailable (or
Recreate), old ReplicaSets kept at 0 replicas up to `revisionHistoryLimit`, a template equal to an
old ReplicaSet's (`kubectl rollout undo`) reusing it with the next revision, and the Deployment's
status and conditions (Available, Progressing with NewReplicaSetCreated / ReplicaSetUpdated /
NewReplicaSetAvailable / ProgressDeadlineExceeded). The Pods themselves are run by the workload
controller."""
import copy
import math
from datetime import datetime, timezone

from .base import Controller, controller_of, now_iso, owner_ref, rand_suffix, set_status
from .replicas import template_hash

REVISION = "deployment.kubernetes.io/revision"
DESIRED = "deployment.kubernetes.io/desired-replicas"
MAX_REPLICAS = "deployment.kubernetes.io/max-replicas"
CHANGE_CAUSE = "kubernetes.io/change-cause"
HASH = "pod-template-hash"


def without_hash(tpl: dict) -> dict:
    """The template with its pod-template-hash label removed (how templates are compared)."""
    t = copy.deepcopy(tpl or {})
    labels = (t.get("metadata") or {}).get("labels")
    if isinstance(labels, dict):
        labels.pop(HASH, None)
        if not labels:
            t["metadata"].pop("labels")
    return t


def resolve(value, total: int, round_up: bool) -> int:
    """maxSurge/maxUnavailable: an int or a percentage of `total`."""
    if isinstance(value, int):
        return value
    s = str(value)
    if s.endswith("%"):
        x = int(s[:-1]) * total / 100
        return math.ceil(x) if round_up else math.floor(x)
    return int(s)


def revision(rs: dict) -> int:
    try:
        return int((rs["metadata"].get("annotations") or {}).get(REVISION, "0"))
    except ValueError:
        return 0


def _pod_ready(pod: dict) -> bool:
    for c in (pod.get("status") or {}).get("conditions") or []:
        if c.get("type") == "Ready":
            return c.get("status") == "True"
    return False


def _parse(ts: str | None) -> float | None:
    try:
        return datetime.strptime(ts or "", "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc).timestamp()
    except ValueError:
        return None


class RolloutController(Controller):
    """See module doc. Keys: ("Deployment" | "ReplicaSet", namespace, name)."""

    name = "rollouts"
    resync = 1.0   # progress deadlines are judged on resync

    def keys_for(self, event, obj):
        kind, md = obj.get("kind"), obj["metadata"]
        ns = md.get("namespace")
        if kind == "Deployment":
            return [("Deployment", ns, md["name"])]
        ref = controller_of(obj) or {}
        if kind == "ReplicaSet":
            keys = [("ReplicaSet", ns, md["name"])]
            if ref.get("kind") == "Deployment":
                keys.append(("Deployment", ns, ref["name"]))
            return keys
        if kind == "Pod" and ref.get("kind") == "ReplicaSet":
            return [("ReplicaSet", ns, ref["name"])]
        return []

    def all_keys(self):
        return [(kind, ns, name) for kind in ("Deployment", "ReplicaSet") for ns, name in self.store.keys(kind)]

    def reconcile(self, key, forced):
        kind, ns, name = key
        if kind == "Deployment":
            self._deployment(ns, name)
        else:
            self._replicaset(ns, name)

    # -- ReplicaSets ---------------------------------------------------------------------------
    def _owned(self, kind: str, owner: dict) -> list[dict]:
        uid = owner["metadata"]["uid"]
        return [o for o in self.store.list(kind, owner["metadata"].get("namespace"))
                if (controller_of(o) or {}).get("uid") == uid and not o["metadata"].get("deletionTimestamp")]

    def _replicaset(self, ns, name):
        rs = self.store.get("ReplicaSet", ns, name)
        if rs is None:
            return
        want = (rs.get("spec") or {}).get("replicas", 1)
        pods = self._owned("Pod", rs)
        while len(pods) < want:
            pod = self._new_pod(rs)
            if pod is None:
                break
            pods.append(pod)
        if len(pods) > want:
            # the real order: not ready before ready, newest first
            victims = sorted(pods, key=lambda p: p["metadata"].get("creationTimestamp", ""), reverse=True)
            victims.sort(key=_pod_ready)
            for p in victims[:len(pods) - want]:
                self.store.delete("Pod", ns, p["metadata"]["name"])
                pods.remove(p)
        ready = sum(1 for p in pods if _pod_ready(p))

        def upd(o):
            new = {"replicas": len(pods), "fullyLabeledReplicas": len(pods), "readyReplicas": ready,
                   "availableReplicas": ready, "observedGeneration": o["metadata"].get("generation", 1)}
            for k in ("fullyLabeledReplicas", "readyReplicas", "availableReplicas"):
                if not new[k]:
                    new.pop(k)
            o["status"] = new
        set_status(self.store, "ReplicaSet", ns, name, upd)

    def _new_pod(self, rs: dict) -> dict | None:
        tpl = copy.deepcopy((rs.get("spec") or {}).get("template") or {})
        md = tpl.get("metadata") or {}
        spec = tpl.get("spec") or {}
        spec["nodeName"] = "sandbox-node"
        pod = {"apiVersion": "v1", "kind": "Pod",
               "metadata": {"name": f"{rs['metadata']['name']}-{rand_suffix()}", "namespace": rs["metadata"]["namespace"],
                            "labels": dict(md.get("labels") or {}), "annotations": dict(md.get("annotations") or {}),
                            "ownerReferences": [owner_ref(rs, "apps/v1")]},
               "spec": spec, "status": {"phase": "Pending", "qosClass": "BestEffort"}}
        try:
            return self.store.create(pod)
        except Exception:  # noqa: BLE001 - a name clash; the next reconcile retries
            return None

    # -- Deployments ---------------------------------------------------------------------------
    def _new_replicaset(self, dep: dict, tpl: dict, rev: int, replicas: int, surge: int) -> dict | None:
        md = dep["metadata"]
        h = template_hash(tpl)
        tpl = copy.deepcopy(tpl)
        tmd = tpl.setdefault("metadata", {})
        tmd["labels"] = dict(tmd.get("labels") or {}, **{HASH: h})
        sel = copy.deepcopy((dep.get("spec") or {}).get("selector") or {})
        sel["matchLabels"] = dict(sel.get("matchLabels") or {}, **{HASH: h})
        ann = {REVISION: str(rev), DESIRED: str(replicas), MAX_REPLICAS: str(replicas + surge)}
        cause = (md.get("annotations") or {}).get(CHANGE_CAUSE)
        if cause:
            ann[CHANGE_CAUSE] = cause
        spec = (dep.get("spec") or {})
        rs = {"apiVersion": "apps/v1", "kind": "ReplicaSet",
              "metadata": {"name": f"{md['name']}-{h}", "namespace": md["namespace"], "labels": dict(tmd["labels"]),
                           "annotations": ann, "ownerReferences": [owner_ref(dep, "apps/v1")]},
              "spec": {"replicas": 0, "minReadySeconds": spec.get("minReadySeconds", 0), "selector": sel,
                       "template": tpl}}
        try:
            return self.store.create(rs)
        except Exception:  # noqa: BLE001 - exists (hash collision or a race): the next pass finds it
            return None

    def _set_replicas(self, rs: dict, replicas: int, annotations: dict | None = None) -> dict:
        changed = (rs.get("spec") or {}).get("replicas") != replicas
        ann = rs["metadata"].setdefault("annotations", {})
        for k, v in (annotations or {}).items():
            if ann.get(k) != v:
                ann[k] = v
                changed = True
        if not changed:
            return rs
        rs["spec"]["replicas"] = replicas
        try:
            return self.store.update(rs)
        except Exception:  # noqa: BLE001 - a conflict: the next reconcile recomputes
            self.enqueue(("Deployment", rs["metadata"]["namespace"], controller_of(rs)["name"]), after=0.1)
            return rs

    def _deployment(self, ns, name):
        dep = self.store.get("Deployment", ns, name)
        if dep is None:
            return
        spec = dep.get("spec") or {}
        replicas = spec.get("replicas", 1)
        tpl = spec.get("template") or {}
        strategy = spec.get("strategy") or {}
        ru = strategy.get("rollingUpdate") or {}
        surge = resolve(ru.get("maxSurge", "25%"), replicas, True)
        unavailable = resolve(ru.get("maxUnavailable", "25%"), replicas, False)
        if surge == 0 and unavailable == 0:
            unavailable = 1
        recreate = strategy.get("type") == "Recreate"
        if recreate:
            surge, unavailable = 0, replicas
        rss = self._owned("ReplicaSet", dep)
        max_rev = max([revision(r) for r in rss] or [0])
        want = without_hash(tpl)
        new = next((r for r in rss if without_hash((r.get("spec") or {}).get("template")) == want), None)
        created = False
        if spec.get("paused"):
            return self._status(dep, new, rss, False)
        if new is None:
            new = self._new_replicaset(dep, tpl, max_rev + 1, replicas, surge)
            if new is None:
                return
            created = True
            rss.append(new)
        elif revision(new) < max_rev or revision(new) == 0:
            new = self._set_replicas(new, new["spec"].get("replicas", 0), {REVISION: str(max_rev + 1)})
        rev = (new["metadata"].get("annotations") or {}).get(REVISION)
        if (dep["metadata"].get("annotations") or {}).get(REVISION) != rev:
            dep["metadata"].setdefault("annotations", {})[REVISION] = rev
            try:
                dep = self.store.update(dep)
            except Exception:  # noqa: BLE001 - changed meanwhile; it is reconciled again
                self.enqueue(("Deployment", ns, name), after=0.1)
                return
        olds = [r for r in rss if r["metadata"]["uid"] != new["metadata"]["uid"]]
        olds.sort(key=revision)
        if recreate:
            for r in olds:
                self._set_replicas(r, 0)
            if all((r.get("status") or {}).get("replicas", 0) == 0 for r in olds) and \
                    not any(self._owned("Pod", r) for r in olds):
                new = self._set_replicas(new, replicas, {DESIRED: str(replicas), MAX_REPLICAS: str(replicas)})
        else:
            new = self._rolling(new, olds, replicas, surge, unavailable)
        self._cleanup(spec.get("revisionHistoryLimit", 10), olds)
        self._status(self.store.get("Deployment", ns, name) or dep, new, [new] + olds, created)

    def _rolling(self, new, olds, replicas, surge, unavailable):
        n = new["spec"].get("replicas", 0)
        old_total = sum(r["spec"].get("replicas", 0) for r in olds)
        if n < replicas:
            n = min(replicas, n + max(0, replicas + surge - (n + old_total)))
        elif n > replicas:
            n = replicas
        new = self._set_replicas(new, n, {DESIRED: str(replicas), MAX_REPLICAS: str(replicas + surge)})
        min_available = replicas - unavailable
        st = lambda r, k: (r.get("status") or {}).get(k, 0)  # noqa: E731
        all_pods = sum(st(r, "replicas") for r in olds) + st(new, "replicas")
        new_unavailable = new["spec"]["replicas"] - st(new, "availableReplicas")
        budget = all_pods - min_available - new_unavailable
        want = {r["metadata"]["uid"]: r["spec"].get("replicas", 0) for r in olds}
        # first the old replicas that are not available anyway, then available ones down to minAvailable
        for r in olds:
            uid = r["metadata"]["uid"]
            cut = min(max(0, budget), max(0, want[uid] - st(r, "availableReplicas")))
            want[uid] -= cut
            budget -= cut
        room = sum(st(r, "availableReplicas") for r in olds) + st(new, "availableReplicas") - min_available
        for r in olds:
            uid = r["metadata"]["uid"]
            cut = min(max(0, room), want[uid])
            want[uid] -= cut
            room -= cut
        for r in olds:
            self._set_replicas(r, want[r["metadata"]["uid"]])
        return new

    def _cleanup(self, limit: int, olds: list):
        idle = [r for r in olds if r["spec"].get("replicas", 0) == 0 and (r.get("status") or {}).get("replicas", 0) == 0]
        for r in sorted(idle, key=revision)[:max(0, len(idle) - limit)]:
            self.store.delete("ReplicaSet", r["metadata"]["namespace"], r["metadata"]["name"])

    def _status(self, dep, new, rss, created: bool):
        md, spec = dep["metadata"], dep.get("spec") or {}
        replicas = spec.get("replicas", 1)
        ru = (spec.get("strategy") or {}).get("rollingUpdate") or {}
        unavailable = resolve(ru.get("maxUnavailable", "25%"), replicas, False)
        if (spec.get("strategy") or {}).get("type") == "Recreate":
            unavailable = replicas
        fresh = [self.store.get("ReplicaSet", r["metadata"]["namespace"], r["metadata"]["name"]) for r in rss if r]
        fresh = [r for r in fresh if r]
        new_fresh = next((r for r in fresh if new and r["metadata"]["uid"] == new["metadata"]["uid"]), None)
        st = lambda r, k: (r.get("status") or {}).get(k, 0) if r else 0  # noqa: E731
        total = sum(st(r, "replicas") for r in fresh)
        updated = st(new_fresh, "replicas")
        ready = sum(st(r, "readyReplicas") for r in fresh)
        available = sum(st(r, "availableReplicas") for r in fresh)
        rs_name = new["metadata"]["name"] if new else ""
        deadline = spec.get("progressDeadlineSeconds")

        def upd(o):
            old = o["status"]
            s = {"observedGeneration": o["metadata"].get("generation", 1), "replicas": total,
                 "updatedReplicas": updated, "readyReplicas": ready, "availableReplicas": available}
            if replicas - available > 0:
                s["unavailableReplicas"] = replicas - available
            for k in ("replicas", "updatedReplicas", "readyReplicas", "availableReplicas"):
                if not s[k]:
                    s.pop(k)
            conds = {c["type"]: c for c in old.get("conditions") or []}
            t = now_iso()

            def put(typ, status, reason, message, progress=False):
                c = conds.get(typ) or {}
                same = c.get("status") == status and c.get("reason") == reason and c.get("message") == message
                if same and not progress:
                    return
                conds[typ] = {"type": typ, "status": status, "lastUpdateTime": t,
                              "lastTransitionTime": c.get("lastTransitionTime", t) if c.get("status") == status else t,
                              "reason": reason, "message": message}
            if available >= replicas - unavailable:
                put("Available", "True", "MinimumReplicasAvailable", "Deployment has minimum availability.")
            else:
                put("Available", "False", "MinimumReplicasUnavailable", "Deployment does not have minimum availability.")
            complete = updated == replicas and total == replicas and available == replicas
            progressed = any(s.get(k, 0) > old.get(k, 0) for k in ("updatedReplicas", "readyReplicas", "availableReplicas")) \
                or s.get("replicas", 0) < old.get("replicas", 0)
            cur = conds.get("Progressing") or {}
            if spec.get("paused"):
                put("Progressing", "Unknown", "DeploymentPaused", "Deployment is paused")
            elif created:
                put("Progressing", "True", "NewReplicaSetCreated", f'Created new replica set "{rs_name}"', True)
            elif complete:
                put("Progressing", "True", "NewReplicaSetAvailable", f'ReplicaSet "{rs_name}" has successfully progressed.')
            elif progressed or cur.get("reason") is None or \
                    (cur.get("message") and rs_name not in cur["message"]):
                put("Progressing", "True", "ReplicaSetUpdated", f'ReplicaSet "{rs_name}" is progressing.', True)
            elif deadline is not None and cur.get("reason") not in ("ProgressDeadlineExceeded", "NewReplicaSetAvailable"):
                since = _parse(cur.get("lastUpdateTime"))
                if since is not None and datetime.now(timezone.utc).timestamp() > since + deadline:
                    put("Progressing", "False", "ProgressDeadlineExceeded",
                        f'ReplicaSet "{rs_name}" has timed out progressing.')
            s["conditions"] = [conds[k] for k in ("Available", "Progressing") if k in conds]
            o["status"] = s
        set_status(self.store, "Deployment", md["namespace"], md["name"], upd)
