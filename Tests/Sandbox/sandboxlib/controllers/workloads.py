"""Deployments and StatefulSets → Pods; PVCs bind at once; a Pod of image `postgres:*` runs a real
PostgreSQL server on the data directory of the PVC it mounts (ReadWriteOnce: one running server per
PVC, a second Pod waits in ContainerCreating). Other images run their images.yaml program (long
running, env PORT = a loopback port for the first containerPort) or, with no mapping, are "pause"
Pods that are Ready but serve nothing."""
import hashlib
import json
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time

from .. import pgserver
from .base import Controller, controller_of, now_iso, owner_ref, rand_suffix, set_status
from .jobs import container_status, pod_conditions
from . import kubelet_http
from .kubelet_env import EnvError, resolve_env

DEFAULT_PGDATA = "/var/lib/postgresql/data"
POD_OWNERS = ("ReplicaSet", "StatefulSet")   # Deployments own ReplicaSets (controllers/rollouts.py)


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


class PodRuntime:
    """What runs for one Pod."""

    def __init__(self, key):
        self.key = key
        self.server: pgserver.PgServer | None = None
        self.proc: subprocess.Popen | None = None
        self.pvcs: list[tuple] = []
        self.ports: dict = {}
        self.stopped = False
        self.sock_tmp: str | None = None


class WorkloadController(Controller):
    """See module doc."""

    name = "workloads"
    resync = 1.0

    def __init__(self, store, ctx):
        super().__init__(store, ctx)
        self.lock = threading.RLock()
        self.runtimes: dict[tuple, PodRuntime] = {}
        self.pvc_owner: dict[tuple, tuple] = {}   # (ns, pvc) -> (ns, pod) holding it
        self.endpoints: dict[tuple, dict] = {}    # (ns, pod) -> {containerPort(int)|name: host port}
        self.retry_at: dict[tuple, float] = {}
        self.listeners = []                       # callables notified when endpoints change
        self._seq = 0

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
            return [("Pod", ns, p["metadata"]["name"]) for p in self.store.list("Pod", ns) if self._pending(p)]
        return []

    def _pending(self, pod):
        ref = controller_of(pod)
        return bool(ref and ref.get("kind") in POD_OWNERS
                    and (pod.get("status") or {}).get("phase", "Pending") == "Pending")

    def all_keys(self):
        out = [("PVC", p["metadata"].get("namespace"), p["metadata"]["name"])
               for p in self.store.list("PersistentVolumeClaim") if (p.get("status") or {}).get("phase") != "Bound"]
        for kind in ("StatefulSet",):
            out += [(kind, o["metadata"].get("namespace"), o["metadata"]["name"]) for o in self.store.list(kind)]
        out += [("Pod", p["metadata"].get("namespace"), p["metadata"]["name"])
                for p in self.store.list("Pod") if self._pending(p)]
        return out

    def reconcile(self, key, forced):
        kind, ns, name = key
        if kind == "PVC":
            self._bind(ns, name)
        elif kind == "StatefulSet":
            self._statefulset(ns, name)
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
        return os.path.join(self.ctx.storage_dir, "volumes", ns, pvc)

    def _pvc_deleted(self, ns, name):
        with self.lock:
            if (ns, name) in self.pvc_owner:
                return  # still mounted; data stays until the sandbox is removed
        shutil.rmtree(self.pvc_root(ns, name), ignore_errors=True)

    # -- Deployments
    def _owned_pods(self, obj) -> list[dict]:
        uid = obj["metadata"]["uid"]
        return [p for p in self.store.list("Pod", obj["metadata"].get("namespace"))
                if (controller_of(p) or {}).get("uid") == uid and not p["metadata"].get("deletionTimestamp")]

    def _new_pod(self, owner, name, tpl, extra_labels, api_version, volumes_extra=()):
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
            return self.store.create(pod)
        except Exception:  # noqa: BLE001 - name clash etc.; the next reconcile retries
            return None

    # -- StatefulSets
    def _statefulset(self, ns, name):
        sts = self.store.get("StatefulSet", ns, name)
        if sts is None:
            return
        spec = sts.get("spec") or {}
        replicas = spec.get("replicas", 1)
        tpl = spec.get("template") or {}
        rev = f"{name}-{template_hash(tpl)}"
        pods = {p["metadata"]["name"]: p for p in self._owned_pods(sts)}
        selector = ((spec.get("selector") or {}).get("matchLabels")) or {}
        for pname, p in list(pods.items()):
            try:
                ordinal = int(pname.rsplit("-", 1)[1])
            except (IndexError, ValueError):
                ordinal = 10 ** 9
            outdated = (p["metadata"].get("labels") or {}).get("controller-revision-hash") != rev
            if ordinal >= replicas or outdated:
                self.store.delete("Pod", ns, pname)
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
                if self.store.get("PersistentVolumeClaim", ns, cname) is None:
                    pvc = {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                           "metadata": {"name": cname, "namespace": ns,
                                        "labels": dict(((vct.get("metadata") or {}).get("labels") or {}), **selector)},
                           "spec": json.loads(json.dumps(vct.get("spec") or {}))}
                    pvc["spec"].setdefault("volumeMode", "Filesystem")
                    try:
                        self.store.create(pvc)
                    except Exception:  # noqa: BLE001 - exists already
                        pass
            p = self._new_pod(sts, pname, tpl, {"controller-revision-hash": rev,
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
        set_status(self.store, "StatefulSet", ns, name, upd)

    # -- Pods
    def _pod(self, ns, name):
        key = (ns, name)
        pod = self.store.get("Pod", ns, name)
        if pod is None:
            return
        with self.lock:
            if key in self.runtimes:
                return
            if self.retry_at.get(key, 0) > time.monotonic():
                return
        containers = (pod.get("spec") or {}).get("containers") or []
        if not containers:
            return
        c = containers[0]
        # volumes → PVCs
        claims = []
        for v in (pod.get("spec") or {}).get("volumes") or []:
            claim = (v.get("persistentVolumeClaim") or {}).get("claimName")
            if claim:
                claims.append((v.get("name"), claim))
        for _, claim in claims:
            pvc = self.store.get("PersistentVolumeClaim", ns, claim)
            if pvc is None:
                self._unschedulable(pod, f'persistentvolumeclaim "{claim}" not found')
                return
            if (pvc.get("status") or {}).get("phase") != "Bound":
                self._bind(ns, claim)
        try:
            env = resolve_env(self.store, pod, c)
        except EnvError as e:
            self._waiting(pod, c, "CreateContainerConfigError", str(e))
            return
        image = c.get("image", "")
        is_pg = image.split("/")[-1].startswith("postgres:") or image.split("/")[-1] == "postgres"
        with self.lock:
            if is_pg:
                holders = [self.pvc_owner.get((ns, cl)) for _, cl in claims]
                busy = [h for h in holders if h and h != key]
                if busy:
                    self._waiting(pod, c, "ContainerCreating",
                                  f"Multi-Attach error: volume is already used by pod(s) {busy[0][1]}")
                    return
                for _, cl in claims:
                    self.pvc_owner[(ns, cl)] = key
            rt = PodRuntime(key)
            rt.pvcs = [(ns, cl) for _, cl in claims] if is_pg else []
            self.runtimes[key] = rt
        fault = self.ctx.faults.take("workload", None, f"{ns}/{name}") if self.ctx.faults is not None else None
        target = self._run_postgres if is_pg else self._run_other
        threading.Thread(target=target, args=(rt, pod, c, env, claims, fault), daemon=True,
                         name=f"pod-{name}").start()

    def _unschedulable(self, pod, msg):
        def upd(o):
            st = o["status"]
            cond = {"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
                    "message": f"0/1 nodes are available: {msg}. preemption: 0/1 nodes are available."}
            cur = (st.get("conditions") or [{}])[0]
            if cur.get("message") != cond["message"]:
                st["phase"] = "Pending"
                st["conditions"] = [dict(cond, lastTransitionTime=now_iso(), lastProbeTime=None)]
        set_status(self.store, "Pod", pod["metadata"].get("namespace"), pod["metadata"]["name"], upd)

    def _waiting(self, pod, c, reason, message):
        def upd(o):
            st = o["status"]
            cur = (st.get("containerStatuses") or [{}])[0].get("state", {}).get("waiting", {})
            if cur.get("reason") == reason and cur.get("message") == message:
                return
            st.update({"phase": "Pending", "hostIP": "127.0.0.1", "podIP": "127.0.0.1"})
            st.setdefault("startTime", now_iso())
            st["conditions"] = pod_conditions(False)
            st["containerStatuses"] = [container_status(c, {"waiting": {"reason": reason, "message": message}})]
        set_status(self.store, "Pod", pod["metadata"].get("namespace"), pod["metadata"]["name"], upd)

    def _set_running(self, pod, c, ready: bool, started: str):
        def upd(o):
            st = o["status"]
            st.update({"phase": "Running", "hostIP": "127.0.0.1", "podIP": "127.0.0.1",
                       "podIPs": [{"ip": "127.0.0.1"}]})
            st.setdefault("startTime", started)
            st["conditions"] = pod_conditions(ready)
            st["containerStatuses"] = [container_status(c, {"running": {"startedAt": started}}, ready=ready)]
        set_status(self.store, "Pod", pod["metadata"].get("namespace"), pod["metadata"]["name"], upd)

    def _crashed(self, rt, pod, c, log: str):
        ns, name = rt.key
        self.store.set_log(ns, name, log)
        t = now_iso()

        def upd(o):
            st = o["status"]
            st.update({"phase": "Running", "hostIP": "127.0.0.1", "podIP": "127.0.0.1"})
            st["conditions"] = pod_conditions(False)
            restarts = ((st.get("containerStatuses") or [{}])[0].get("restartCount") or 0) + 1
            st["containerStatuses"] = [dict(container_status(
                c, {"waiting": {"reason": "CrashLoopBackOff",
                                "message": f"back-off 10s restarting failed container={c.get('name')} pod={name}"}},
                restarts=restarts), lastState={"terminated": {"exitCode": 1, "reason": "Error", "finishedAt": t}})]
        set_status(self.store, "Pod", ns, name, upd)
        with self.lock:
            self.runtimes.pop(rt.key, None)
            for pv in rt.pvcs:
                if self.pvc_owner.get(pv) == rt.key:
                    del self.pvc_owner[pv]
            self.retry_at[rt.key] = time.monotonic() + 5

    def _sock_dir(self, rt) -> str:
        with self.lock:
            self._seq += 1
            d = os.path.join(self.ctx.storage_dir, "run", f"p{self._seq}")
        if len(d) > 80:
            d = tempfile.mkdtemp(prefix="rbsock-")
            rt.sock_tmp = d
        return d

    def _data_dir(self, pod, c, env, claims) -> str:
        pgdata = os.path.normpath(env.get("PGDATA") or DEFAULT_PGDATA)
        by_name = dict(claims)
        best = None
        for m in c.get("volumeMounts") or []:
            mp = os.path.normpath(m.get("mountPath", ""))
            if m.get("name") in by_name and (pgdata == mp or pgdata.startswith(mp + "/")):
                if best is None or len(mp) > len(best[0]):
                    best = (mp, by_name[m["name"]], m.get("subPath", ""))
        ns, name = pod["metadata"].get("namespace"), pod["metadata"]["name"]
        if best is None:  # container filesystem: gone with the Pod
            return os.path.join(self.ctx.storage_dir, "pods", ns, name, "pgdata")
        mp, claim, sub = best
        rel = os.path.relpath(pgdata, mp)
        root = self.pvc_root(ns, claim)
        path = os.path.normpath(os.path.join(root, sub, rel) if rel != "." else os.path.join(root, sub))
        return path

    def _run_postgres(self, rt, pod, c, env, claims, fault):
        ns, name = rt.key
        started = now_iso()
        log = []
        try:
            if fault:
                self._set_running(pod, c, False, started)
                self.store.set_log(ns, name, "sandbox fault injected: this pod never becomes ready\n")
                return
            data_dir = self._data_dir(pod, c, env, claims)
            os.makedirs(os.path.dirname(data_dir), exist_ok=True)
            for d in (self.ctx.storage_dir, os.path.join(self.ctx.storage_dir, "volumes")):
                if os.path.isdir(d):
                    os.chmod(d, 0o755)
            fresh = not pgserver.is_initialised(data_dir)
            user = env.get("POSTGRES_USER") or "postgres"
            password = env.get("POSTGRES_PASSWORD") or ""
            db = env.get("POSTGRES_DB") or user
            if fresh and not password and env.get("POSTGRES_HOST_AUTH_METHOD") != "trust":
                self._crashed(rt, pod, c, "Error: Database is uninitialized and superuser password is not "
                              "specified.\n       You must specify POSTGRES_PASSWORD to a non-empty value for "
                              "the\n       superuser. For example, \"-e POSTGRES_PASSWORD=password\" on "
                              "\"docker run\".\n")
                return
            if fresh:
                log.append(f"The files belonging to this database system will be owned by user \"postgres\".\n"
                           f"initdb: data directory {env.get('PGDATA') or DEFAULT_PGDATA} initialised\n")
                pgserver.init_data_dir(data_dir)
            for pv in rt.pvcs:
                os.chmod(self.pvc_root(*pv), 0o755) if os.path.isdir(self.pvc_root(*pv)) else None
            subprocess.run(["chown", "postgres:postgres", os.path.dirname(data_dir)], check=False)
            logdir = os.path.join(self.ctx.sandbox_dir, "logs")
            os.makedirs(logdir, exist_ok=True)
            srv = pgserver.PgServer(data_dir, self._sock_dir(rt), os.path.join(logdir, f"pod-{ns}-{name}.log"))
            with self.lock:
                if rt.stopped:
                    return
                rt.server = srv
                srv.start()
            self._set_running(pod, c, False, started)
            srv.wait_ready(60)
            if fresh:
                q = lambda s: "'" + s.replace("'", "''") + "'"  # noqa: E731
                ident = lambda s: '"' + s.replace('"', '""') + '"'  # noqa: E731
                if user == "postgres":
                    srv.psql(f"ALTER ROLE postgres PASSWORD {q(password)}")
                else:
                    srv.psql(f"CREATE ROLE {ident(user)} SUPERUSER LOGIN PASSWORD {q(password)}")
                if db != "postgres":
                    srv.psql(f"CREATE DATABASE {ident(db)} OWNER {ident(user)}")
                for sql in self.ctx.pvc_sql_files(ns, [cl for _, cl in claims]):
                    log.append(f"/usr/local/bin/docker-entrypoint.sh: running {os.path.basename(sql)}\n")
                    srv.psql(file=sql, db=db, user=user)
                log.append("PostgreSQL init process complete; ready for start up.\n")
            log.append("LOG:  database system is ready to accept connections\n")
            self.store.set_log(ns, name, "".join(log))
            cport = 5432
            names = {}
            for p in c.get("ports") or []:
                if p.get("containerPort"):
                    cport = p["containerPort"]
                    if p.get("name"):
                        names[p["name"]] = srv.port
            with self.lock:
                if rt.stopped:
                    return
                self.endpoints[rt.key] = dict({5432: srv.port, cport: srv.port}, **names)
            self._set_running(pod, c, True, started)
            self._notify()
        except pgserver.PgError as e:
            log.append(f"FATAL: {e}\n")
            self._crashed(rt, pod, c, "".join(log))
            if rt.server:
                rt.server.stop()

    def _run_other(self, rt, pod, c, env, claims, fault):
        ns, name = rt.key
        started = now_iso()
        if fault:
            self._set_running(pod, c, False, started)
            return
        pull = kubelet_http.pull_error(self.ctx, c.get("image", ""))
        if pull:
            return kubelet_http.back_off(self, rt, pod, c, pull)
        program = self.ctx.image_program(c.get("image", ""))
        if program is None:
            self._set_running(pod, c, True, started)  # a "pause" container: Ready, serves nothing
            return
        ports = [p for p in c.get("ports") or [] if p.get("containerPort")]
        hport = pgserver.free_port()
        run_env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOSTNAME": name, "PORT": str(hport)}
        run_env.update(env)
        logf = os.path.join(self.ctx.sandbox_dir, "logs", f"pod-{ns}-{name}.log")
        os.makedirs(os.path.dirname(logf), exist_ok=True)
        with open(logf, "wb") as out:
            proc = subprocess.Popen([program] + list(c.get("command") or []) + list(c.get("args") or []),
                                    env=run_env, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                    start_new_session=True, cwd=os.path.dirname(program))
        with self.lock:
            if rt.stopped:
                proc.kill()
                return
            rt.proc = proc
        self._set_running(pod, c, False, started)
        deadline = time.monotonic() + 30
        while ports and time.monotonic() < deadline and proc.poll() is None:
            try:
                with socket.create_connection(("127.0.0.1", hport), timeout=0.5):
                    break
            except OSError:
                time.sleep(0.1)
        if proc.poll() is not None:
            with open(logf, errors="replace") as f:
                self._crashed(rt, pod, c, f.read())
            return
        if not kubelet_http.probe_ready(c, hport, lambda: proc.poll() is None and not rt.stopped):
            if not rt.stopped:
                with open(logf, errors="replace") as f:
                    self._crashed(rt, pod, c, f.read())
            return
        with self.lock:
            if ports:
                eps = {ports[0]["containerPort"]: hport}
                if ports[0].get("name"):
                    eps[ports[0]["name"]] = hport
                self.endpoints[rt.key] = eps
        with open(logf, errors="replace") as f:
            self.store.set_log(ns, name, f.read())
        self._set_running(pod, c, True, started)
        self._notify()

    def _notify(self):
        for fn in list(self.listeners):
            try:
                fn()
            except Exception:  # noqa: BLE001
                pass

    def _stop_pod(self, key):
        with self.lock:
            rt = self.runtimes.pop(key, None)
            self.endpoints.pop(key, None)
            self.retry_at.pop(key, None)
            if rt is None:
                return
            rt.stopped = True
        self._notify()
        if rt.server is not None:
            rt.server.stop()
        if rt.proc is not None and rt.proc.poll() is None:
            try:
                os.killpg(rt.proc.pid, 15)
                rt.proc.wait(5)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                try:
                    os.killpg(rt.proc.pid, 9)
                except ProcessLookupError:
                    pass
        if rt.sock_tmp:
            shutil.rmtree(rt.sock_tmp, ignore_errors=True)
        ns, name = key
        shutil.rmtree(os.path.join(self.ctx.storage_dir, "pods", ns, name), ignore_errors=True)
        with self.lock:
            for pv in rt.pvcs:
                if self.pvc_owner.get(pv) == key:
                    del self.pvc_owner[pv]
        for p in self.store.list("Pod", ns):
            if self._pending(p):
                self.enqueue(("Pod", ns, p["metadata"]["name"]), True)

    def endpoint(self, ns: str, pod: str, target) -> int | None:
        """Host port serving `target` (container port number or name) of a running Pod."""
        with self.lock:
            eps = self.endpoints.get((ns, pod)) or {}
            if target in eps:
                return eps[target]
            if isinstance(target, str) and target.isdigit():
                return eps.get(int(target))
            return None

    def pids(self) -> list[int]:
        with self.lock:
            rts = list(self.runtimes.values())
        out = []
        for rt in rts:
            if rt.server:
                out += rt.server.pids()
            if rt.proc and rt.proc.poll() is None:
                out.append(rt.proc.pid)
        return out

    def stop(self):
        super().stop()
        with self.lock:
            keys = list(self.runtimes)
        threads = [threading.Thread(target=self._stop_pod, args=(k,)) for k in keys]
        for t in threads:
            t.start()
        for t in threads:
            t.join(15)
