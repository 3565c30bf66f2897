"""The resource family: /api/V/… and /apis/G/V/… on the served types. Resolves the URL into
type/version/namespace/name/subresource, authorizes, then runs the verb (reads, watch, writes) or the
subresource's handler from `SUBRESOURCES` (filled in routes/__init__.py)."""

from .. import resources
from . import authz, reads, watch, writes
from .discovery import served_groups, served_versions
from .request import Request, method_not_allowed, not_found_path

# subresource name → handler(req); `status` is served by the verbs themselves. A handler that takes
# a longer path (e.g. a service proxy) is listed in `OPEN_ENDED`, and gets the rest in `req.rest`.
SUBRESOURCES: dict = {}
OPEN_ENDED: set = set()


def match(req: Request):
    parts = req.path.strip("/").split("/")
    if len(parts) >= 3 and parts[0] == "api":
        return serve
    if len(parts) >= 4 and parts[0] == "apis":
        return serve
    return None


def resolve(req: Request):
    """Fill req.t/version/namespace/name/sub/rest from the URL; 404 when nothing is served there."""
    parts = req.path.strip("/").split("/")
    if parts[0] == "api":
        group, version, rest = "", parts[1], parts[2:]
    else:
        group = parts[1]
        if group not in served_groups(req.store):
            raise not_found_path()
        version, rest = parts[2], parts[3:]
    if version not in served_groups(req.store).get(group, []):
        raise not_found_path()
    namespace = None
    if rest[0] == "namespaces" and len(rest) >= 3 and not (group == "" and len(rest) == 3 and
                                                            rest[2] in ("status", "finalize")):
        namespace, rest = rest[1], rest[2:]
    t = resources.by_plural(group, version, rest[0])
    if t is not None and version not in served_versions(req.store, t):
        t = None
    if t is None:
        raise not_found_path()
    if len(rest) > 3 and not (rest[2] in OPEN_ENDED and rest[2] in t.subresources):
        raise not_found_path()
    if namespace is not None and not t.namespaced:
        raise not_found_path()
    name = rest[1] if len(rest) >= 2 else None
    sub = rest[2] if len(rest) >= 3 else None
    if sub is not None and sub not in t.subresources:
        raise not_found_path()
    req.t, req.version, req.namespace, req.name, req.sub, req.rest = t, version, namespace, name, sub, rest[3:]


def serve(req: Request):
    resolve(req)
    authz.authorize(req)
    m, sub = req.method, req.sub
    if sub in SUBRESOURCES:
        return SUBRESOURCES[sub](req)
    if sub == "finalize":
        raise method_not_allowed()
    if req.name is None:
        if m == "GET":
            return watch.serve(req) if req.verb() == "watch" else reads.list_(req)
        if m == "POST":
            return writes.create(req)
        if m == "DELETE":
            return writes.delete_collection(req)
        raise method_not_allowed()
    if m == "GET":
        if req.verb() == "watch":
            return watch.serve(req)
        return reads.get(req)
    if m == "PUT":
        return writes.replace(req, status_only=sub == "status")
    if m == "PATCH":
        return writes.patch(req, status_only=sub == "status")
    if m == "DELETE" and sub is None:
        return writes.delete(req)
    raise method_not_allowed()
