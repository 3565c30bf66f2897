"""Services as stable loopback ports: each Service port gets a port on 127.0.0.1 (kept for the
Service's lifetime, or pre-allocated through ${SERVICE_PORT:ns/name}) with a TCP proxy to a ready
backend Pod matching the selector. With no ready backend, connections are closed at once."""
import socket
import threading

from .base import Controller
from .replicas import is_ready


def _matches(selector: dict, labels: dict) -> bool:
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


class _Listener:
    def __init__(self, ctl, ns, name, port_index, port):
        self.ctl, self.ns, self.name, self.port_index = ctl, ns, name, port_index
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", port))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.closed = False
        self.conns: set[socket.socket] = set()
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True, name=f"svc-{ns}-{name}").start()

    def _accept(self):
        while not self.closed:
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            target = self.ctl.backend(self.ns, self.name, self.port_index)
            if target is None:
                client.close()
                continue
            try:
                upstream = socket.create_connection(("127.0.0.1", target), timeout=3)
                upstream.settimeout(None)
            except OSError:
                client.close()
                continue
            with self.lock:
                self.conns.update((client, upstream))
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    def _pipe(self, src, dst):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            with self.lock:
                for s in (src, dst):
                    if s in self.conns:
                        self.conns.discard(s)
                        s.close()

    def close(self):
        self.closed = True
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
        with self.lock:
            conns = list(self.conns)
        for s in conns:
            try:
                s.shutdown(socket.SHUT_RDWR)
                s.close()
            except OSError:
                pass


class ServiceController(Controller):
    """See module doc. `preallocated` maps "ns/name" to a port reserved by substitute()."""

    name = "services"

    def __init__(self, store, ctx, workloads, preallocated: dict[str, int]):
        super().__init__(store, ctx)
        self.workloads = workloads
        self.preallocated = preallocated
        self.listeners: dict[tuple, _Listener] = {}  # (ns, name, index) -> listener
        self.static: dict[tuple, int] = {}  # (ns, name) -> port of an in-process backend (operators)
        self.lock = threading.Lock()

    def keys_for(self, event, obj):
        if obj.get("kind") == "Service":
            return [(obj["metadata"].get("namespace"), obj["metadata"]["name"])]
        return []

    def all_keys(self):
        return self.store.keys("Service")

    def reconcile(self, key, forced):
        ns, name = key
        svc = self.store.get("Service", ns, name)
        with self.lock:
            mine = {k: v for k, v in self.listeners.items() if k[:2] == key}
        if svc is None:
            for k, lst in mine.items():
                lst.close()
                with self.lock:
                    self.listeners.pop(k, None)
            return
        ports = (svc.get("spec") or {}).get("ports") or [{}]
        for i in range(len(ports)):
            if (ns, name, i) in mine:
                continue
            want = self.preallocated.get(f"{ns}/{name}", 0) if i == 0 else 0
            try:
                lst = _Listener(self, ns, name, i, want)
            except OSError:
                lst = _Listener(self, ns, name, i, 0)
            with self.lock:
                self.listeners[(ns, name, i)] = lst
        for k, lst in mine.items():
            if k[2] >= len(ports):
                lst.close()
                with self.lock:
                    self.listeners.pop(k, None)

    def register_static(self, ns: str, name: str, port: int) -> None:
        """Routes Service ns/name (every port) to an in-process server of the sandbox, such as an
        operator's HTTP endpoint that has no Pod of its own."""
        self.static[(ns, name)] = port

    def backend(self, ns: str, name: str, index: int) -> int | None:
        """Host port of a ready backend for the Service's port `index`, or None."""
        if (ns, name) in self.static and self.store.get("Service", ns, name) is not None:
            return self.static[(ns, name)]
        svc = self.store.get("Service", ns, name)
        if svc is None:
            return None
        spec = svc.get("spec") or {}
        ports = spec.get("ports") or [{}]
        if index >= len(ports):
            return None
        sp = ports[index]
        target = sp.get("targetPort", sp.get("port"))
        for pod in self.store.list("Pod", ns):
            if pod["metadata"].get("deletionTimestamp") or not is_ready(pod):
                continue
            if not _matches(spec.get("selector") or {}, pod["metadata"].get("labels") or {}):
                continue
            hp = self.workloads.endpoint(ns, pod["metadata"]["name"], target)
            if hp is not None:
                return hp
        return None

    def ports(self) -> dict[str, int]:
        """"ns/name" → port of the first Service port; further ports as "ns/name/INDEX"."""
        with self.lock:
            items = list(self.listeners.items())
        out = {}
        for (ns, name, i), lst in sorted(items, key=lambda kv: kv[0]):
            out[f"{ns}/{name}" if i == 0 else f"{ns}/{name}/{i}"] = lst.port
        return out

    def stop(self):
        super().stop()
        with self.lock:
            items = list(self.listeners.values())
            self.listeners.clear()
        for lst in items:
            lst.close()
