"""A small work-queue controller base: store events and a periodic resync enqueue keys; one worker
thread reconciles them one at a time."""
import random
import threading
import time
import traceback
from datetime import datetime, timezone

NAME_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"


def now_iso() -> str:
    """Kubernetes timestamp (seconds precision, UTC)."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def rand_suffix(n: int = 5) -> str:
    """Random suffix like the ones generateName and ReplicaSets use."""
    return "".join(random.choice(NAME_ALPHABET) for _ in range(n))


def is_conflict(e: Exception) -> bool:
    """True when a store error is a 409 (conflict / already exists)."""
    code = getattr(e, "code", None) or getattr(e, "status", None)
    return code == 409 or "409" in str(code) or "onflict" in type(e).__name__


def set_status(store, kind: str, ns: str | None, name: str, fn, tries: int = 5) -> dict | None:
    """Reads the object, lets `fn(obj)` edit obj["status"] in place, writes the status.
    Returns the stored object, or None if it is gone. Retries on conflicts."""
    for i in range(tries):
        obj = store.get(kind, ns, name)
        if obj is None:
            return None
        before = repr(obj.get("status"))
        obj.setdefault("status", {})
        fn(obj)
        if repr(obj.get("status")) == before:
            return obj
        try:
            return store.update_status(obj)
        except Exception as e:  # noqa: BLE001 - store errors are retried when conflicts
            if not is_conflict(e) or i == tries - 1:
                raise
            time.sleep(0.02)
    return None


def owner_ref(obj: dict, api_version: str) -> dict:
    """A controller ownerReference to `obj`."""
    md = obj["metadata"]
    return {"apiVersion": api_version, "kind": obj["kind"], "name": md["name"], "uid": md["uid"],
            "controller": True, "blockOwnerDeletion": True}


def controller_of(obj: dict) -> dict | None:
    """The controller ownerReference of `obj`, if any."""
    for ref in obj.get("metadata", {}).get("ownerReferences", []) or []:
        if ref.get("controller"):
            return ref
    return None


def key_of(obj: dict) -> tuple[str | None, str]:
    md = obj.get("metadata", {})
    return md.get("namespace"), md.get("name")


class Controller:
    """Subclasses set `name`, `resync` (seconds, 0 = none), implement `keys_for(event, obj)`,
    `all_keys()` and `reconcile(key, forced)`."""

    name = "controller"
    resync = 0.0
    # Worker threads; a key is never reconciled by two at once. Work caused by an event is served
    # before periodic resyncs, so a thousand objects resyncing do not delay a new one.
    workers = 1

    def __init__(self, store, ctx):
        self.store = store
        self.ctx = ctx
        self._cv = threading.Condition()
        self._queue: dict = {}  # key -> forced flag (ordered)
        self._timers: dict = {}  # key -> due monotonic time
        self._resync: dict = {}  # key -> True, served when _queue is empty
        self._busy: set = set()  # keys a worker is reconciling now
        self._next_resync: float | None = None
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    # -- queue
    def enqueue(self, key, forced: bool = False, after: float = 0.0) -> None:
        with self._cv:
            if after > 0:
                due = time.monotonic() + after
                if key not in self._timers or self._timers[key] > due:
                    self._timers[key] = due
            else:
                self._queue[key] = self._queue.get(key, False) or forced
            self._cv.notify()

    def _on_event(self, event: str, obj: dict) -> None:
        if self._stop.is_set():
            return
        try:
            for key in self.keys_for(event, obj):
                self.enqueue(key)
        except Exception:  # noqa: BLE001
            traceback.print_exc()

    def _next_key(self):
        """The next key no worker holds: event work first, then resyncs. Lock held."""
        for q in (self._queue, self._resync):
            for k in q:
                if k not in self._busy:
                    return k, q.pop(k)
        return None, False

    def _worker(self) -> None:
        while not self._stop.is_set():
            with self._cv:
                now = time.monotonic()
                for k, due in list(self._timers.items()):
                    if due <= now:
                        del self._timers[k]
                        self._queue[k] = True
                if self._next_resync is not None and now >= self._next_resync:
                    self._next_resync = now + self.resync
                    try:
                        for k in self.all_keys():
                            if k not in self._queue:
                                self._resync[k] = True
                    except Exception:  # noqa: BLE001
                        traceback.print_exc()
                key, forced = self._next_key()
                if key is None:
                    waits = [d - now for d in self._timers.values()]
                    if self._next_resync is not None:
                        waits.append(self._next_resync - now)
                    self._cv.wait(max(0.01, min(waits)) if waits else 1.0)
                    continue
                self._busy.add(key)
            try:
                self.reconcile(key, forced)
            except Exception:  # noqa: BLE001 - a controller must survive one bad object
                traceback.print_exc()
                self.enqueue(key, True, after=1.0)
            finally:
                with self._cv:
                    self._busy.discard(key)
                    self._cv.notify()

    def start(self) -> None:
        """Subscribes to the store, queues existing objects and starts the worker."""
        self.store.subscribe(self._on_event, shared=True)     # keys_for only reads the object
        for k in self.all_keys():
            self.enqueue(k, True)
        self._next_resync = time.monotonic() + self.resync if self.resync else None
        for n in range(max(1, self.workers)):
            t = threading.Thread(target=self._worker, name=f"ctl-{self.name}-{n}", daemon=True)
            t.start()
            self._threads.append(t)

    def stop(self) -> None:
        """Stops the worker (the store subscription is ignored from now on)."""
        self._stop.set()
        with self._cv:
            self._cv.notify_all()
        for t in self._threads:
            t.join(5)

    # -- to implement
    def keys_for(self, event: str, obj: dict):
        """The keys an event concerns; `obj` is shared with the other controllers: never change it."""
        return []

    def all_keys(self):
        return []

    def reconcile(self, key, forced: bool) -> None:
        raise NotImplementedError
