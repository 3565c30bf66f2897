"""Defaults the real API server fills in on every write, limited to what runbooks could notice."""

import base64
import hashlib

from . import eso_defaults


def _container(c: dict):
    image = c.get("image", "")
    tag = image.rsplit("/", 1)[-1]
    latest = ":" not in tag or tag.endswith(":latest")
    if "@" in image:
        latest = False
    c.setdefault("imagePullPolicy", "Always" if latest else "IfNotPresent")
    c.setdefault("terminationMessagePath", "/dev/termination-log")
    c.setdefault("terminationMessagePolicy", "File")
    c.setdefault("resources", {})
    for p in c.get("ports") or []:
        p.setdefault("protocol", "TCP")


def pod_spec(spec: dict, restart: str = "Always"):
    """Defaults of a PodSpec (also inside templates)."""
    spec.setdefault("restartPolicy", restart)
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("schedulerName", "default-scheduler")
    spec.setdefault("securityContext", {})
    for c in (spec.get("containers") or []) + (spec.get("initContainers") or []):
        _container(c)


def _template(spec: dict, restart: str = "Always"):
    tmpl = spec.get("template")
    if isinstance(tmpl, dict):
        md = tmpl.setdefault("metadata", {})
        if isinstance(md, dict) and "creationTimestamp" in md and md["creationTimestamp"] is None:
            del md["creationTimestamp"]   # a Go zero time is omitted when the real server stores it
        if isinstance(tmpl.get("spec"), dict):
            pod_spec(tmpl["spec"], restart)


def _deployment(obj: dict):
    spec = obj.setdefault("spec", {})
    spec.setdefault("replicas", 1)
    spec.setdefault("revisionHistoryLimit", 10)
    spec.setdefault("progressDeadlineSeconds", 600)
    strategy = spec.setdefault("strategy", {})
    if not strategy.get("type"):
        strategy["type"] = "RollingUpdate"
    if strategy["type"] == "RollingUpdate":
        ru = strategy.setdefault("rollingUpdate", {})
        ru.setdefault("maxUnavailable", "25%")
        ru.setdefault("maxSurge", "25%")
    _template(spec)


def _replicaset(obj: dict):
    spec = obj.setdefault("spec", {})
    spec.setdefault("replicas", 1)
    spec.setdefault("minReadySeconds", 0)
    _template(spec)


def _statefulset(obj: dict):
    spec = obj.setdefault("spec", {})
    spec.setdefault("replicas", 1)
    spec.setdefault("revisionHistoryLimit", 10)
    spec.setdefault("podManagementPolicy", "OrderedReady")
    us = spec.setdefault("updateStrategy", {})
    if not us.get("type"):
        us["type"] = "RollingUpdate"
    if us["type"] == "RollingUpdate":
        us.setdefault("rollingUpdate", {}).setdefault("partition", 0)
    spec.setdefault("persistentVolumeClaimRetentionPolicy", {"whenDeleted": "Retain", "whenScaled": "Retain"})
    for pvc in spec.get("volumeClaimTemplates") or []:
        pvc.setdefault("apiVersion", "v1")
        pvc.setdefault("kind", "PersistentVolumeClaim")
        pvc.setdefault("spec", {}).setdefault("volumeMode", "Filesystem")
    _template(spec)


def _job_spec(spec: dict, uid: str | None, name: str | None):
    spec.setdefault("parallelism", 1)
    spec.setdefault("completions", 1)
    spec.setdefault("backoffLimit", 6)
    spec.setdefault("completionMode", "NonIndexed")
    spec.setdefault("suspend", False)
    _template(spec, restart="Never")
    if uid and name and not spec.get("manualSelector"):
        labels = {"batch.kubernetes.io/controller-uid": uid, "batch.kubernetes.io/job-name": name,
                  "controller-uid": uid, "job-name": name}
        tmeta = spec.setdefault("template", {}).setdefault("metadata", {})
        tl = tmeta.setdefault("labels", {})
        for k, v in labels.items():
            tl.setdefault(k, v)
        spec.setdefault("selector", {"matchLabels": {"batch.kubernetes.io/controller-uid": uid}})


def _job(obj: dict):
    md = obj["metadata"]
    _job_spec(obj.setdefault("spec", {}), md.get("uid"), md.get("name"))
    labels = md.setdefault("labels", {})
    if md.get("uid") and not obj["spec"].get("manualSelector"):
        labels.setdefault("batch.kubernetes.io/controller-uid", md["uid"])
        labels.setdefault("batch.kubernetes.io/job-name", md["name"])
        labels.setdefault("controller-uid", md["uid"])
        labels.setdefault("job-name", md["name"])


def _cronjob(obj: dict):
    spec = obj.setdefault("spec", {})
    spec.setdefault("concurrencyPolicy", "Allow")
    spec.setdefault("suspend", False)
    spec.setdefault("successfulJobsHistoryLimit", 3)
    spec.setdefault("failedJobsHistoryLimit", 1)
    jt = spec.setdefault("jobTemplate", {})
    jt.setdefault("metadata", {})
    jspec = jt.setdefault("spec", {})
    jspec.setdefault("backoffLimit", 6)
    jspec.setdefault("completionMode", "NonIndexed")
    jspec.setdefault("suspend", False)
    _template(jspec, restart="Never")


def _pod(obj: dict):
    spec = obj.setdefault("spec", {})
    pod_spec(spec)
    spec.setdefault("enableServiceLinks", True)
    obj.setdefault("status", {}).setdefault("phase", "Pending")


def _service(obj: dict):
    spec = obj.setdefault("spec", {})
    spec.setdefault("type", "ClusterIP")
    spec.setdefault("sessionAffinity", "None")
    if spec["type"] != "ExternalName" and "clusterIP" not in spec:
        h = hashlib.sha256(f'{obj["metadata"].get("namespace")}/{obj["metadata"]["name"]}'.encode()).digest()
        spec["clusterIP"] = f"10.96.{h[0]}.{max(h[1], 2)}"
        spec["clusterIPs"] = [spec["clusterIP"]]
    spec.setdefault("ipFamilies", ["IPv4"])
    spec.setdefault("ipFamilyPolicy", "SingleStack")
    spec.setdefault("internalTrafficPolicy", "Cluster")
    for p in spec.get("ports") or []:
        p.setdefault("protocol", "TCP")
        if "port" in p:
            p.setdefault("targetPort", p["port"])
    obj.setdefault("status", {"loadBalancer": {}})


def _pvc(obj: dict):
    obj.setdefault("spec", {}).setdefault("volumeMode", "Filesystem")
    obj.setdefault("status", {}).setdefault("phase", "Pending")


def _secret(obj: dict):
    obj.setdefault("type", "Opaque")
    sd = obj.pop("stringData", None)
    if sd:
        data = obj.setdefault("data", {}) or {}
        obj["data"] = data
        for k, v in sd.items():
            data[k] = base64.b64encode(str(v).encode()).decode()
    if obj.get("data") is None:
        obj.pop("data", None)


def _namespace(obj: dict):
    name = obj["metadata"]["name"]
    obj["metadata"].setdefault("labels", {})["kubernetes.io/metadata.name"] = name
    obj.setdefault("spec", {}).setdefault("finalizers", ["kubernetes"])
    obj.setdefault("status", {}).setdefault("phase", "Active")


_BY_KIND = {
    "Deployment": _deployment, "ReplicaSet": _replicaset, "StatefulSet": _statefulset, "Job": _job, "CronJob": _cronjob,
    "Pod": _pod, "Service": _service, "PersistentVolumeClaim": _pvc, "Secret": _secret,
    "Namespace": _namespace,
    "ExternalSecret": eso_defaults.external_secret,
}


def apply(obj: dict):
    """Fill in defaults in place (obj must have metadata.name and, once stored, metadata.uid)."""
    fn = _BY_KIND.get(obj.get("kind"))
    if fn:
        fn(obj)
