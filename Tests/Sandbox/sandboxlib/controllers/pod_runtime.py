"""The processes behind running Pods (the sandbox's "kubelet" state): one PodRuntime per Pod, which
PVC each PostgreSQL Pod holds (ReadWriteOnce), the host ports serving each Pod's container ports,
and stopping all of it. Which program a Pod runs is in postgres_pod.py and program_pod.py."""
import os
import shutil
import subprocess
import tempfile
import threading
import time

from .. import pgserver
from . import pod_status


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


class PodRuntimes:
    """Thread-safe registry of PodRuntimes; `listeners` are called when endpoints change."""

    CRASH_BACKOFF = 5.0

    def __init__(self, store, ctx):
        self.store, self.ctx = store, ctx
        self.lock = threading.RLock()
        self.runtimes: dict[tuple, PodRuntime] = {}
        self.pvc_owner: dict[tuple, tuple] = {}   # (ns, pvc) -> (ns, pod) holding it
        self.endpoints: dict[tuple, dict] = {}    # (ns, pod) -> {containerPort(int)|name: host port}
        self.retry_at: dict[tuple, float] = {}
        self.listeners = []                       # callables notified when endpoints change
        self._seq = 0

    def pvc_root(self, ns, pvc) -> str:
        return os.path.join(self.ctx.storage_dir, "volumes", ns, pvc)

    def holds(self, ns, pvc) -> bool:
        with self.lock:
            return (ns, pvc) in self.pvc_owner

    def should_start(self, key) -> bool:
        """False while the Pod runs or waits out a crash back-off."""
        with self.lock:
            return key not in self.runtimes and self.retry_at.get(key, 0) <= time.monotonic()

    def claim(self, key, claims: list, exclusive: bool):
        """A new PodRuntime for `key` holding `claims` [(volume, pvc)] when `exclusive`; or the
        (ns, pod) already holding one of them (then nothing is registered)."""
        ns = key[0]
        with self.lock:
            if exclusive:
                holders = [self.pvc_owner.get((ns, cl)) for _, cl in claims]
                busy = [h for h in holders if h and h != key]
                if busy:
                    return None, busy[0]
                for _, cl in claims:
                    self.pvc_owner[(ns, cl)] = key
            rt = PodRuntime(key)
            rt.pvcs = [(ns, cl) for _, cl in claims] if exclusive else []
            self.runtimes[key] = rt
            return rt, None

    def attach(self, rt: PodRuntime, server=None, proc=None) -> bool:
        """Record the started server/process; False (and the process killed) when the Pod was
        stopped meanwhile. A server is started under the lock, so a stop waits for it."""
        with self.lock:
            if rt.stopped:
                if proc is not None:
                    proc.kill()
                return False
            if server is not None:
                rt.server = server
                server.start()
            if proc is not None:
                rt.proc = proc
            return True

    def publish(self, rt: PodRuntime, eps: dict) -> bool:
        """Record the Pod's endpoints; False when the Pod was stopped meanwhile."""
        with self.lock:
            if rt.stopped:
                return False
            if eps:
                self.endpoints[rt.key] = eps
            return True

    def crashed(self, rt: PodRuntime, pod, c, log: str):
        ns, name = rt.key
        self.store.set_log(ns, name, log)
        pod_status.crash_looping(self.store, ns, name, c)
        with self.lock:
            self.runtimes.pop(rt.key, None)
            for pv in rt.pvcs:
                if self.pvc_owner.get(pv) == rt.key:
                    del self.pvc_owner[pv]
            self.retry_at[rt.key] = time.monotonic() + self.CRASH_BACKOFF

    def sock_dir(self, rt: PodRuntime) -> str:
        with self.lock:
            self._seq += 1
            d = os.path.join(self.ctx.storage_dir, "run", f"p{self._seq}")
        if len(d) > 80:
            d = tempfile.mkdtemp(prefix="rbsock-")
            rt.sock_tmp = d
        return d

    def notify(self):
        for fn in list(self.listeners):
            try:
                fn()
            except Exception:  # noqa: BLE001
                pass

    def stop(self, key) -> bool:
        """Stops what runs for the Pod and frees its PVCs; False when nothing ran."""
        with self.lock:
            rt = self.runtimes.pop(key, None)
            self.endpoints.pop(key, None)
            self.retry_at.pop(key, None)
            if rt is None:
                return False
            rt.stopped = True
        self.notify()
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
        return True

    def keys(self) -> list:
        with self.lock:
            return list(self.runtimes)

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
