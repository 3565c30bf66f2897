"""StatefulSets and ReplicaSets' Pods run (Deployments own ReplicaSets: controllers/rollouts.py); PVCs bind at once; a Pod of image `postgres:*` runs a real
PostgreSQL server on the data directory of the PVC it mounts (ReadWriteOnce: one running server per
PVC, a second Pod waits in ContainerCreating). Other images run their images.yaml program (long
running, env PORT = a loopback port for the first containerPort) or, with no mapping, are "pause"
Pods that are Ready but serve nothing.

By concern: replicas.py (StatefulSet → Pods), pod_runtime.py (what runs for each Pod,
PVC holders, endpoints), postgres_pod.py and program_pod.py (the programs), pod_status.py (the
status they report); this controller routes events to them and binds PVCs."""
import shutil
import threading

from . import pod_status, postgres_pod, program_pod, replicas
from .base import Controller, controller_of, set_status
from .kubelet_env import EnvError, resolve_env
from .pod_runtime import PodRuntimes
from .replicas import is_ready, template_hash  # noqa: F401 (re-exported for other controllers)

DEFAULT_PGDATA = postgres_pod.DEFAULT_PGDATA
POD_OWNERS = ("ReplicaSet", "StatefulSet")   # the controllers whose Pods run here


class WorkloadController(Controller):
    """See module doc."""

    name = "workloads"
    resync = 1.0

    def __init__(self, store, ctx):
        super().__init__(store, ctx)
        self.pods = PodRuntimes(store, ctx)
        self.listeners = self.pods.listeners      # callables notified when endpoints change

    # -- keys: (kind, ns, name)
    def keys_for(self, event, obj):
        kind, md = obj.get("kind"), obj["metadata"]
        ns, name = md.get("namespace"), md["name"]
        if kind == "StatefulSet":
            return [(kind, ns, name)]
        if kind == "PersistentVolumeClaim":
            if event == "DELETED":
                threading.Thread(target=self._pvc_deleted, args=(ns, name), daemon=True).start()
                return []
            return [("PVC", ns, name)]
        if kind == "Pod":
            ref = controller_of(obj)
            if not ref or ref.get("kind") not in POD_OWNERS:
                return []
            owner = [(ref["kind"], ns, ref["name"])] if ref["kind"] == "StatefulSet" else []
            if event == "DELETED":
                threading.Thread(target=self._stop_pod, args=((ns, name),), daemon=True).start()
                return owner
            return [("Pod", ns, name)] + owner
        if kind in ("Secret", "ConfigMap") and event != "DELETED":
            return [("Pod", pns, name) for pns, name in self.store.keys("Pod", ns, where=self._pending)]
        return []

    def _pending(self, pod):
        ref = controller_of(pod)
        return bool(ref and ref.get("kind") in POD_OWNERS
                    and (pod.get("status") or {}).get("phase", "Pending") == "Pending")

    def all_keys(self):
        out = [("PVC", ns, name) for ns, name in self.store.keys(
            "PersistentVolumeClaim", where=lambda p: (p.get("status") or {}).get("phase") != "Bound")]
        out += [("StatefulSet", ns, name) for ns, name in self.store.keys("StatefulSet")]
        out += [("Pod", ns, name) for ns, name in self.store.keys("Pod", where=self._pending)]
        return out

    def reconcile(self, key, forced):
        kind, ns, name = key
        if kind == "PVC":
            self._bind(ns, name)
        elif kind == "StatefulSet":
            replicas.reconcile_statefulset(self.store, ns, name)
        elif kind == "Pod":
            self._pod(ns, name)

    # -- PVCs
    def _bind(self, ns, name):
        pvc = self.store.get("PersistentVolumeClaim", ns, name)
        if pvc is None or (pvc.get("status") or {}).get("phase") == "Bound":
            return
        spec = pvc.get("spec") or {}
        if not spec.get("volumeName"):
            pvc["spec"]["volumeName"] = f"pvc-{pvc['metadata']['uid']}"
            ann = pvc["metadata"].setdefault("annotations", {})
            ann["pv.kubernetes.io/bind-completed"] = "yes"
            ann["pv.kubernetes.io/bound-by-controller"] = "yes"
            try:
                self.store.update(pvc)
            except Exception:  # noqa: BLE001 - retried by the next event/resync
                return
        req = ((spec.get("resources") or {}).get("requests") or {}).get("storage", "1Gi")

        def upd(o):
            o["status"] = {"phase": "Bound", "accessModes": spec.get("accessModes") or ["ReadWriteOnce"],
                           "capacity": {"storage": req}}
        set_status(self.store, "PersistentVolumeClaim", ns, name, upd)

    def pvc_root(self, ns, pvc) -> str:
        return self.pods.pvc_root(ns, pvc)

    def _pvc_deleted(self, ns, name):
        if self.pods.holds(ns, name):
            return  # still mounted; data stays until the sandbox is removed
        shutil.rmtree(self.pvc_root(ns, name), ignore_errors=True)

    # -- Pods: decide whether and what to run; the program runs on its own thread
    def _pod(self, ns, name):
        key = (ns, name)
        pod = self.store.get("Pod", ns, name)
        if pod is None or not self.pods.should_start(key):
            return
        containers = (pod.get("spec") or {}).get("containers") or []
        if not containers:
            return
        c = containers[0]
        claims = []
        for v in (pod.get("spec") or {}).get("volumes") or []:
            claim = (v.get("persistentVolumeClaim") or {}).get("claimName")
            if claim:
                claims.append((v.get("name"), claim))
        for _, claim in claims:
            pvc = self.store.get("PersistentVolumeClaim", ns, claim)
            if pvc is None:
                pod_status.unschedulable(self.store, pod, f'persistentvolumeclaim "{claim}" not found')
                return
            if (pvc.get("status") or {}).get("phase") != "Bound":
                self._bind(ns, claim)
        try:
            env = resolve_env(self.store, pod, c)
        except EnvError as e:
            pod_status.waiting(self.store, pod, c, "CreateContainerConfigError", str(e))
            return
        is_pg = postgres_pod.is_postgres(c.get("image", ""))
        with self.pods.lock:
            if not self.pods.should_start(key):
                return
            rt, busy = self.pods.claim(key, claims, exclusive=is_pg)
            if rt is None:
                pod_status.waiting(self.store, pod, c, "ContainerCreating",
                                   f"Multi-Attach error: volume is already used by pod(s) {busy[1]}")
                return
        fault = self.ctx.faults.take("workload", None, f"{ns}/{name}") if self.ctx.faults is not None else None
        program = postgres_pod.run if is_pg else program_pod.run
        threading.Thread(target=program, args=(self.pods, rt, pod, c, env, claims, fault), daemon=True,
                         name=f"pod-{name}").start()

    def _stop_pod(self, key):
        if not self.pods.stop(key):
            return
        ns, _name = key
        for p in self.store.list("Pod", ns):
            if self._pending(p):
                self.enqueue(("Pod", ns, p["metadata"]["name"]), True)

    def endpoint(self, ns: str, pod: str, target) -> int | None:
        """Host port serving `target` (container port number or name) of a running Pod."""
        return self.pods.endpoint(ns, pod, target)

    def pids(self) -> list[int]:
        return self.pods.pids()

    def stop(self):
        super().stop()
        threads = [threading.Thread(target=self._stop_pod, args=(k,)) for k in self.pods.keys()]
        for t in threads:
            t.start()
        for t in threads:
            t.join(15)
