"""In-memory object store of the sandbox cluster, with change notifications.

Thread-safe; every call returns deep copies, so callers may change what they get freely.
"""

import copy
import datetime
import logging
import marshal
import queue
import threading
import uuid

from . import defaults
from .labels import LabelSelector
from .resources import BY_KIND

log = logging.getLogger("sandbox.store")


class StoreError(Exception):
    """A failed store operation, carrying what the API server needs to answer with a Status."""

    def __init__(self, code: int, reason: str, message: str, details: dict | None = None):
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details or {}


def clone(obj):
    """A deep copy of a JSON-like value (dicts, lists, strings, numbers, booleans, None), made by
    marshal — several times faster than copy.deepcopy; anything marshal refuses (a type it does not
    know, a subclass) is copied by copy.deepcopy."""
    try:
        return marshal.loads(marshal.dumps(obj))
    except ValueError:
        return copy.deepcopy(obj)


def now_rfc3339() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _rtype(kind: str):
    t = BY_KIND.get(kind)
    if t is None:
        raise StoreError(400, "BadRequest", f"unknown kind {kind!r}")
    return t


def not_found(kind: str, name: str) -> StoreError:
    t = _rtype(kind)
    return StoreError(404, "NotFound", f'{t.group_resource} "{name}" not found',
                      {"name": name, "group": t.group, "kind": t.plural} if t.group else
                      {"name": name, "kind": t.plural})


def _details(t, name: str) -> dict:
    d = {"name": name, "kind": t.plural}
    if t.group:
        d["group"] = t.group
    return d


def _spec_part(obj: dict) -> dict:
    """Everything that counts for metadata.generation: all but metadata and status."""
    return {k: v for k, v in obj.items() if k not in ("metadata", "status", "apiVersion", "kind")}


class Store:
    """Objects keyed by (kind, namespace, name); a global resourceVersion counter."""

    def __init__(self):
        self._lock = threading.RLock()
        self._objects: dict = {}          # (kind, ns or "", name) -> obj
        self._by_kind: dict = {}          # kind -> {(kind, ns or "", name): obj}, the same objects, for list()
        self._kind_rv: dict = {}          # kind -> the resourceVersion of its last change (kind_version)
        self._derived: dict = {}          # (kind, key) -> (kind_version, value), see derived()
        self._uids: dict = {}             # uid -> key, for the garbage collector's owner lookups
        self._rv = 0
        self._logs: dict = {}             # (ns, pod) -> text
        self._subscribers: list = []
        self._events: queue.SimpleQueue = queue.SimpleQueue()     # C: a put that wakes the dispatcher costs half
        self._dispatcher = threading.Thread(target=self._dispatch, name="store-dispatcher", daemon=True)
        self._dispatcher.start()

    # -- reads ---------------------------------------------------------------------------------

    def get(self, kind: str, namespace: str | None, name: str) -> dict | None:
        t = _rtype(kind)
        with self._lock:
            obj = self._objects.get((kind, namespace or "" if t.namespaced else "", name))
            return clone(obj) if obj is not None else None

    def list(self, kind: str, namespace: str | None = None, label_selector: str | None = None) -> list:
        t = _rtype(kind)
        sel = LabelSelector.parse(label_selector) if label_selector else None
        with self._lock:
            out = []
            for (_k, ns, _name), obj in self._by_kind.get(kind, {}).items():
                if t.namespaced and namespace and ns != namespace:
                    continue
                if sel is not None and not sel.matches(obj.get("metadata", {}).get("labels") or {}):
                    continue
                out.append(clone(obj))
        out.sort(key=lambda o: (o["metadata"].get("namespace", ""), o["metadata"]["name"]))
        return out

    def keys(self, kind: str, namespace: str | None = None, where=None) -> list:
        """(namespace or None, name) of the objects of a kind (in one namespace), sorted like list();
        `where(obj)`, when given, picks the objects (it must not change them). For controllers that
        need names only: no copies are made."""
        t = _rtype(kind)
        with self._lock:
            out = [(ns or None, name) for (_k, ns, name), obj in self._by_kind.get(kind, {}).items()
                   if not (t.namespaced and namespace and ns != namespace) and (where is None or where(obj))]
        out.sort(key=lambda k: (k[0] or "", k[1]))
        return out

    def version_of(self, kind: str, namespace: str | None, name: str) -> str | None:
        """The resourceVersion of an object (None when there is none), without copying it."""
        t = _rtype(kind)
        with self._lock:
            obj = self._objects.get((kind, namespace or "" if t.namespaced else "", name))
            return obj["metadata"]["resourceVersion"] if obj is not None else None

    def kind_version(self, kind: str) -> int:
        """A number that changes whenever an object of `kind` is created, changed or deleted (for
        caches of what is derived from those objects, e.g. the versions CRDs serve)."""
        with self._lock:
            return self._kind_rv.get(kind, 0)

    def derived(self, kind: str, key, compute):
        """compute(), remembered under `key` until an object of `kind` changes (kind_version). What it
        returns is shared by every caller: it must not be changed."""
        changed = self.kind_version(kind)
        hit = self._derived.get((kind, key))
        if hit is not None and hit[0] == changed:
            return hit[1]
        value = compute()
        self._derived[(kind, key)] = (changed, value)    # `changed` read first: a later change makes it stale
        return value

    def resource_version(self) -> str:
        with self._lock:
            return str(self._rv)

    # -- writes --------------------------------------------------------------------------------

    def _key(self, obj: dict):
        kind = obj.get("kind")
        t = _rtype(kind)
        md = obj.get("metadata") or {}
        name = md.get("name")
        if not name:
            raise StoreError(422, "Invalid", f'{kind} "" is invalid: metadata.name: Required value: name or generateName is required')
        ns = md.get("namespace") or ""
        if t.namespaced and not ns:
            raise StoreError(422, "Invalid", f'{kind} "{name}" is invalid: metadata.namespace: Required value')
        if not t.namespaced:
            ns = ""
            md.pop("namespace", None)
        return t, (kind, ns, name)

    def _next_rv(self) -> str:
        self._rv += 1
        return str(self._rv)

    def create(self, obj: dict, dry_run: bool = False) -> dict:
        """Store a new object; fills uid, resourceVersion, generation, creationTimestamp."""
        obj = clone(obj)
        obj.setdefault("metadata", {})
        t, key = self._key(obj)
        with self._lock:
            if key in self._objects:
                raise StoreError(409, "AlreadyExists", f'{t.group_resource} "{key[2]}" already exists',
                                 _details(t, key[2]))
            if t.namespaced and ("Namespace", "", key[1]) not in self._objects:
                raise StoreError(404, "NotFound", f'namespaces "{key[1]}" not found',
                                 {"name": key[1], "kind": "namespaces"})
            md = obj["metadata"]
            md["uid"] = md.get("uid") or str(uuid.uuid4())
            md["creationTimestamp"] = now_rfc3339()
            for k in ("deletionTimestamp", "deletionGracePeriodSeconds", "selfLink"):
                md.pop(k, None)
            defaults.apply(obj)
            if t.generation:
                md["generation"] = 1
            else:
                md.pop("generation", None)
            if dry_run:
                md.pop("resourceVersion", None)
                return clone(obj)
            md["resourceVersion"] = self._next_rv()
            self._put(key, obj)
            self._uids[md["uid"]] = key
            out = clone(obj)
            self._emit("ADDED", obj)
            if self._owners_gone(key, obj):
                # as the real garbage collector does (there a moment later): a dependent created
                # after all its owners were deleted (a controller racing a delete) goes at once
                self._remove(key, "Background")
            return out

    def _owners_gone(self, key, obj: dict) -> bool:
        """True when `obj` has ownerReferences and none of them names a live owner (by uid; a
        namespaced owner must be in the dependent's namespace)."""
        refs = (obj.get("metadata") or {}).get("ownerReferences") or []
        if not refs:
            return False
        for r in refs:
            owner = self._uids.get(r.get("uid"))
            if owner is not None and (owner[1] == "" or owner[1] == key[1]):
                return False
        return True

    def _check_rv(self, t, key, old: dict, obj: dict):
        rv = (obj.get("metadata") or {}).get("resourceVersion")
        if rv and rv != old["metadata"]["resourceVersion"]:
            raise StoreError(409, "Conflict",
                             f'Operation cannot be fulfilled on {t.group_resource} "{key[2]}": the object has been '
                             f'modified; please apply your changes to the latest version and try again',
                             _details(t, key[2]))

    def update(self, obj: dict, dry_run: bool = False) -> dict:
        """Replace an object (its .status is kept when the type has a status subresource).

        A metadata.resourceVersion in `obj` that is not the current one raises 409 Conflict;
        an empty one means "unconditional"."""
        obj = clone(obj)
        obj.setdefault("metadata", {})
        t, key = self._key(obj)
        with self._lock:
            old = self._objects.get(key)
            if old is None:
                raise not_found(key[0], key[2])
            self._check_rv(t, key, old, obj)
            md = obj["metadata"]
            omd = old["metadata"]
            for k in ("uid", "creationTimestamp", "deletionTimestamp"):
                if k in omd:
                    md[k] = omd[k]
                else:
                    md.pop(k, None)
            if t.has_status:
                if "status" in old:
                    obj["status"] = clone(old["status"])
                else:
                    obj.pop("status", None)
            defaults.apply(obj)
            if t.generation:
                gen = omd.get("generation", 1)
                md["generation"] = gen + 1 if _spec_part(obj) != _spec_part(old) else gen
            else:
                md.pop("generation", None)
            return self._commit(key, old, obj, dry_run)

    def update_status(self, obj: dict, dry_run: bool = False) -> dict:
        """Replace only .status of an existing object."""
        obj = clone(obj)
        obj.setdefault("metadata", {})
        t, key = self._key(obj)
        with self._lock:
            old = self._objects.get(key)
            if old is None:
                raise not_found(key[0], key[2])
            self._check_rv(t, key, old, obj)
            new = clone(old)
            if "status" in obj:
                new["status"] = obj["status"]
            else:
                new.pop("status", None)
            return self._commit(key, old, new, dry_run)

    def _commit(self, key, old: dict, new: dict, dry_run: bool) -> dict:
        if new == old:
            return clone(old)        # a no-op write keeps the resourceVersion, as the real server does
        if dry_run:
            return clone(new)
        new["metadata"]["resourceVersion"] = self._next_rv()
        self._put(key, new)
        self._emit("MODIFIED", new)
        return clone(new)

    def delete(self, kind: str, namespace: str | None, name: str, propagation: str = "Background",
               dry_run: bool = False, uid: str | None = None, resource_version: str | None = None) -> dict | None:
        """Delete an object now; dependents (ownerReferences) are deleted too, or orphaned with
        propagation "Orphan". Returns the deleted object, or None when there was none."""
        t = _rtype(kind)
        key = (kind, (namespace or "") if t.namespaced else "", name)
        with self._lock:
            old = self._objects.get(key)
            if old is None:
                return None
            if uid and old["metadata"].get("uid") != uid:
                raise StoreError(409, "Conflict",
                                 f'Operation cannot be fulfilled on {t.group_resource} "{name}": Precondition failed: '
                                 f'UID in precondition: {uid}, UID in object meta: {old["metadata"].get("uid")}',
                                 _details(t, name))
            if resource_version and old["metadata"].get("resourceVersion") != resource_version:
                raise StoreError(409, "Conflict",
                                 f'Operation cannot be fulfilled on {t.group_resource} "{name}": the object has been '
                                 f'modified; please apply your changes to the latest version and try again',
                                 _details(t, name))
            if dry_run:
                return clone(old)
            self._remove(key, propagation)
            return clone(old)

    def _put(self, key, obj: dict):
        self._objects[key] = obj
        self._by_kind.setdefault(key[0], {})[key] = obj
        self._kind_rv[key[0]] = self._rv

    def _remove(self, key, propagation: str):
        old = self._objects.pop(key, None)
        if old is None:
            return
        self._by_kind[key[0]].pop(key, None)
        self._uids.pop(old["metadata"].get("uid"), None)
        self._logs.pop((key[1], key[2]), None) if key[0] == "Pod" else None
        self._rv += 1
        self._kind_rv[key[0]] = self._rv
        gone = clone(old)
        gone["metadata"]["resourceVersion"] = str(self._rv)
        self._emit("DELETED", gone)
        uid = old["metadata"].get("uid")
        if key[0] == "Namespace":
            for k in [k for k in self._objects if k[1] == key[2] and _rtype(k[0]).namespaced]:
                self._remove(k, "Background")
        if key[0] == "CustomResourceDefinition":       # the custom resources go with their definition
            kinds = {t.kind for t in BY_KIND.values() if not t.builtin and f"{t.plural}.{t.group}" == key[2]}
            for k in [k for k in self._objects if k[0] in kinds]:
                self._remove(k, "Background")
        for k, o in list(self._objects.items()):
            refs = o.get("metadata", {}).get("ownerReferences") or []
            if not any(r.get("uid") == uid for r in refs):
                continue
            if k[1] != key[1] and _rtype(key[0]).namespaced:
                continue      # owners must live in the dependent's namespace
            if propagation == "Orphan":
                new = clone(o)
                new["metadata"]["ownerReferences"] = [r for r in refs if r.get("uid") != uid]
                if not new["metadata"]["ownerReferences"]:
                    del new["metadata"]["ownerReferences"]
                self._commit(k, o, new, False)
            else:
                self._remove(k, propagation)

    # -- notifications -------------------------------------------------------------------------

    def subscribe(self, fn, shared: bool = False) -> None:
        """fn(event, obj) is called on the dispatcher thread, after commit, in commit order, with a
        copy of its own — or, with `shared`, with one copy all shared subscribers get (they promise
        not to change it: one copy per event instead of one per subscriber)."""
        with self._lock:
            self._subscribers.append((fn, shared))

    def _emit(self, event: str, obj: dict):
        """Queue an event for the subscribers present at commit time (caller holds the lock)."""
        if self._subscribers:
            try:    # one frozen copy now, a fresh one for each subscriber later
                frozen, thaw = marshal.dumps(obj), marshal.loads
            except ValueError:
                frozen, thaw = copy.deepcopy(obj), copy.deepcopy
            self._events.put((event, frozen, thaw, tuple(self._subscribers)))

    def _dispatch(self):
        while True:
            event, frozen, thaw, subs = self._events.get()
            common = None
            for fn, shared in subs:
                try:
                    if shared:
                        if common is None:
                            common = thaw(frozen)
                        fn(event, common)
                    else:
                        fn(event, thaw(frozen))
                except Exception:      # a subscriber's bug must not stop the others
                    log.exception("subscriber %r failed on %s %s", fn, event, thaw(frozen).get("kind"))

    # -- pod logs ------------------------------------------------------------------------------

    def set_log(self, namespace: str, pod: str, text: str) -> None:
        with self._lock:
            self._logs[(namespace, pod)] = text

    def get_log(self, namespace: str, pod: str) -> str | None:
        with self._lock:
            return self._logs.get((namespace, pod))
