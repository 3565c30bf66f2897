"""Discovery: /version, health, /api, /apis, /apis/G, /api/V and /apis/G/V, and the OpenAPI v3 stub
(just enough for kubectl to know that the server validates fields). Groups that are not stored
resources (e.g. authorization.k8s.io) are added to `EXTRA_GROUPS` by their family."""

from .. import resources
from ..resources import ResourceType
from ..store import Store
from .request import HTTPError, Request, method_not_allowed, not_found_path

K8S_VERSION = {"major": "1", "minor": "32", "gitVersion": "v1.32.0-sandbox", "gitCommit": "sandbox",
               "gitTreeState": "clean", "buildDate": "2025-01-01T00:00:00Z", "goVersion": "go1.23",
               "compiler": "gc", "platform": "linux/amd64"}

# group → {version: [APIResource dicts]} for groups served by a family rather than the Store
EXTRA_GROUPS: dict = {}


def _crd_served(store: Store) -> dict:
    """CRD name → the versions it serves. Read again only when a CRD changed, as every request asks
    (resource URLs are resolved through the served groups and versions)."""
    return store.derived("CustomResourceDefinition", "served", lambda: {
        crd["metadata"]["name"]: [v.get("name") for v in (crd.get("spec") or {}).get("versions") or []
                                  if v.get("served")]
        for crd in store.list("CustomResourceDefinition")})


def served_versions(store: Store, t: ResourceType) -> list:
    """Built-in types: all their versions. Custom resources: the versions their CRD serves (none
    when the CRD is missing), so `kubectl patch crd` can stop serving a version."""
    if t.builtin:
        return list(t.versions)
    served = _crd_served(store).get(resources.crd_name(t))
    if served is None:
        return []
    return [v for v in t.versions if v in served]


def served_groups(store: Store) -> dict:
    """group → served versions (preferred first); shared, not to be changed."""
    def compute():
        out: dict = {}
        for t in resources.TYPES:
            vs = served_versions(store, t)
            if vs:
                cur = out.setdefault(t.group, [])
                cur.extend(v for v in vs if v not in cur)
        return out
    return store.derived("CustomResourceDefinition", "served-groups", compute)


def match(req: Request):
    p = req.path
    if req.method == "GET":
        if p == "/version":
            return lambda r: r.send(200, K8S_VERSION)
        if p in ("/healthz", "/readyz", "/livez"):
            return lambda r: r.send(200, b"ok", "text/plain")
        if p == "/api":
            return _api
        if p == "/apis":
            return _apis
        if p == "/openapi/v3" or p.startswith("/openapi/v3/"):
            return _openapi_v3
        if p == "/openapi/v2":
            return _openapi_v2
        parts = p.strip("/").split("/")
        if len(parts) == 3 and parts[0] == "apis" and parts[1] in EXTRA_GROUPS and parts[2] in EXTRA_GROUPS[parts[1]]:
            return _extra_group_version
    parts = p.strip("/").split("/")
    if (parts[0] == "api" and len(parts) == 2) or (parts[0] == "apis" and len(parts) in (2, 3)):
        return _group_or_version
    return None


def _group(g, vs):
    versions = [{"groupVersion": f"{g}/{v}", "version": v} for v in vs]
    return {"name": g, "versions": versions, "preferredVersion": versions[0]}


def _api(req: Request):
    addr = f"127.0.0.1:{req.api.port}"
    req.send(200, {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs":
                   [{"clientCIDR": "0.0.0.0/0", "serverAddress": addr}]})


def _apis(req: Request):
    req.send(200, {"kind": "APIGroupList", "apiVersion": "v1", "groups": [
        _group(g, vs) for g, vs in served_groups(req.store).items() if g] +
        [_group(g, list(vs)) for g, vs in EXTRA_GROUPS.items()]})


def _extra_group_version(req: Request):
    _apis_, group, version = req.path.strip("/").split("/")
    req.send(200, {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": f"{group}/{version}",
                   "resources": EXTRA_GROUPS[group][version]})


def _group_or_version(req: Request):
    """/apis/G (the group), /api/V and /apis/G/V (its resources)."""
    parts = req.path.strip("/").split("/")
    if parts[0] == "api":
        group, version = "", parts[1]
    else:
        group = parts[1]
        gv = served_groups(req.store).get(group)
        if gv is None:
            raise not_found_path()
        if len(parts) == 2:
            if req.method != "GET":
                raise method_not_allowed()
            return req.send(200, _group(group, gv) | {"kind": "APIGroup", "apiVersion": "v1"})
        version = parts[2]
    if version not in served_groups(req.store).get(group, []):
        raise not_found_path()
    if req.method != "GET":
        raise method_not_allowed()
    req.send(200, {"kind": "APIResourceList", "apiVersion": "v1",
                   "groupVersion": f"{group}/{version}" if group else version,
                   "resources": _discovery_resources(req.store, group, version)})


def _discovery_resources(store: Store, group: str, version: str) -> list:
    out = []
    verbs = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]
    for t in resources.TYPES:
        if t.group != group or version not in served_versions(store, t):
            continue
        r = {"name": t.plural, "singularName": t.singular, "namespaced": t.namespaced, "kind": t.kind,
             "verbs": verbs}
        if t.short_names:
            r["shortNames"] = list(t.short_names)
        if t.categories:
            r["categories"] = list(t.categories)
        out.append(r)
        for sub in t.subresources:
            s = {"name": f"{t.plural}/{sub}", "singularName": "", "namespaced": t.namespaced, "kind": t.kind,
                 "verbs": ["get", "patch", "update"]}
            if sub == "scale":
                s.update({"group": "autoscaling", "version": "v1", "kind": "Scale"})
            elif sub == "log":
                s["verbs"] = ["get"]
            elif sub == "finalize":
                s["verbs"] = ["update"]
            elif sub == "token":
                s.update({"group": "authentication.k8s.io", "version": "v1", "kind": "TokenRequest", "verbs": ["create"]})
            out.append(s)
    return out


# -- OpenAPI v2 --------------------------------------------------------------------------------
def _pb_string(field: int, text: str) -> bytes:
    data = text.encode()
    return bytes([field << 3 | 2, len(data)]) + data


def _openapi_v2(req: Request):
    """A Swagger 2.0 document (gnostic protobuf, the only form kubectl asks for) with no paths and no
    definitions. kubectl reads it only to validate a `List` document client-side; finding no schema
    it leaves the checking to the server (fieldValidation=Strict), as it does for every object."""
    info = _pb_string(1, "Kubernetes") + _pb_string(2, K8S_VERSION["gitVersion"])
    doc = _pb_string(1, "2.0") + bytes([2 << 3 | 2, len(info)]) + info
    req.send(200, doc, "application/com.github.proto-openapi.spec.v2.v1.0+protobuf")


# -- OpenAPI v3 --------------------------------------------------------------------------------
def _openapi_v3(req: Request):
    gvs = [(g, v) for g, vs in served_groups(req.store).items() for v in vs]

    def rel(g, v):
        return f"api/{v}" if not g else f"apis/{g}/{v}"
    if req.path == "/openapi/v3":
        return req.send(200, {"paths": {rel(g, v): {"serverRelativeURL": f"/openapi/v3/{rel(g, v)}?hash=sandbox1"}
                                        for g, v in gvs}})
    want = req.path[len("/openapi/v3/"):]
    for g, v in gvs:
        if rel(g, v) == want:
            return req.send(200, _openapi_gv(req.store, g, v))
    raise HTTPError(404, "NotFound", "the server could not find the requested resource", {})


def _openapi_gv(store: Store, group: str, version: str) -> dict:
    """An OpenAPI v3 document listing the write operations with their query parameters (no schemas)."""
    base = f"/api/{version}" if not group else f"/apis/{group}/{version}"
    params = [{"name": n, "in": "query", "schema": {"type": "string"}, "uniqueItems": True}
              for n in ("dryRun", "fieldManager", "fieldValidation", "pretty")]
    paths = {}
    for t in resources.TYPES:
        if t.group != group or version not in served_versions(store, t):
            continue
        gvk = {"group": group, "version": version, "kind": t.kind}
        coll = f"{base}/namespaces/{{namespace}}/{t.plural}" if t.namespaced else f"{base}/{t.plural}"
        op = lambda verb: {"operationId": f"{verb}{t.kind}", "parameters": params,
                           "x-kubernetes-action": verb, "x-kubernetes-group-version-kind": gvk,
                           "responses": {"200": {"description": "OK"}}}
        paths[coll] = {"post": op("post"), "get": op("list")}
        paths[coll + "/{name}"] = {"get": op("get"), "put": op("put"), "patch": op("patch"), "delete": op("delete")}
    return {"openapi": "3.0.0", "info": {"title": "Kubernetes", "version": K8S_VERSION["gitVersion"]},
            "paths": paths, "components": {"schemas": {}}}
