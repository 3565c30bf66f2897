"""One API request as the route families see it: the URL split into path and query, the body, the
authenticated user and, for resource requests, the resolved type/version/namespace/name/subresource;
plus the helpers every family shares (decoding, answering, reading the stored object)."""

import json

import yaml

from .. import conversion, protobuf
from ..store import StoreError, not_found
from ..validation import bad_request

ADMIN = "sandbox-admin"
VIEWER = "viewer"


class HTTPError(Exception):
    """Carries a ready Status to send."""

    def __init__(self, code, reason, message, details=None):
        super().__init__(message)
        self.code, self.reason, self.message, self.details = code, reason, message, details


def status(code: int, reason: str, message: str, details: dict | None = None) -> dict:
    s = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": message,
         "reason": reason}
    if details:
        s["details"] = details
    s["code"] = code
    return s


def not_found_path() -> HTTPError:
    return HTTPError(404, "NotFound", "the server could not find the requested resource", {})


def method_not_allowed() -> HTTPError:
    return HTTPError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource", {})


class Request:
    """`h` is the HTTP handler (headers, wfile, `_send`); `api` the APIServer (store, faults, watchers,
    patcher, kubectl). The resource family fills `t`, `version`, `namespace`, `name`, `sub` and `rest`
    (path segments after the subresource, e.g. a service proxy's path)."""

    def __init__(self, h, method: str, path: str, query: dict, body: bytes, user: str):
        self.h, self.method, self.path, self.query, self.body, self.user = h, method, path, query, body, user
        self.api = h.server_api
        self.store = self.api.store
        self.dry_run = query.get("dryRun") == "All"
        self.t = self.version = self.namespace = self.name = self.sub = None
        self.rest: list = []

    # -- answering -----------------------------------------------------------------------------
    def send(self, code: int, body, content_type="application/json", headers=None):
        return self.h._send(code, body, content_type, headers)

    def verb(self) -> str:
        """The Kubernetes verb of a resource request (for authorization and dispatch)."""
        if self.method == "GET":
            if self.query.get("watch") in ("true", "1"):
                return "watch"
            return "get" if self.name else "list"
        return {"POST": "create", "PUT": "update", "PATCH": "patch",
                "DELETE": "delete" if self.name else "deletecollection"}.get(self.method, self.method.lower())

    # -- bodies and objects --------------------------------------------------------------------
    def decode(self, content_type: str = "application/json"):
        if not self.body:
            raise HTTPError(400, "BadRequest", "the body of the request was empty")
        try:
            if content_type.startswith(protobuf.CONTENT_TYPE):
                return protobuf.decode(self.body, self.api.kubectl)
            if "yaml" in content_type:
                try:
                    return json.loads(self.body)
                except ValueError:
                    return yaml.safe_load(self.body)
            return json.loads(self.body)
        except protobuf.ProtobufError as e:
            raise HTTPError(400, "BadRequest", f"the object provided is unrecognized (must be of type "
                                               f"{self.t.kind}): {e}")
        except (ValueError, yaml.YAMLError) as e:
            raise HTTPError(400, "BadRequest", f"the object provided is unrecognized (must be of type "
                                               f"{self.t.kind}): couldn't get version/kind; json parse error: {e}")

    def out(self, obj: dict) -> dict:
        """An object as served under the requested version (custom resources converted as their CRD
        says: conversion.py)."""
        try:
            obj = conversion.read_as(self.store, self.t, obj, self.version)
        except conversion.ConversionError as e:
            raise HTTPError(e.code, e.reason, e.message)
        obj["apiVersion"] = self.t.api_version(self.version)
        obj["kind"] = self.t.kind
        return obj

    def stored(self, obj: dict) -> dict:
        """A written object converted to its CRD's storage version (built-in kinds: as they are)."""
        try:
            return conversion.to_storage(self.store, self.t, obj)
        except conversion.ConversionError as e:
            raise HTTPError(e.code, e.reason, e.message)

    def get_existing(self) -> dict:
        obj = self.store.get(self.t.kind, self.namespace, self.name)
        if obj is None:
            raise not_found(self.t.kind, self.name)
        return obj

    def check_body(self, obj, for_update: bool):
        """The body is an object of the URL's kind, version, namespace and name (400 otherwise);
        fills namespace, name, apiVersion and kind from the URL."""
        t = self.t
        if not isinstance(obj, dict):
            raise bad_request(f"the object provided is unrecognized (must be of type {t.kind})")
        kind = obj.get("kind")
        av = obj.get("apiVersion")
        if kind and kind != t.kind:
            raise bad_request(f"{kind} in version \"{self.version}\" cannot be handled as a {t.kind}: "
                              f"the kind of the object ({kind}) does not match the resource ({t.kind})")
        if av and av not in [t.api_version(v) for v in t.versions]:
            raise bad_request(f'the API version in the data ({av}) does not match the expected API version '
                              f'({t.api_version(self.version)})')
        md = obj.get("metadata")
        if md is None:
            md = obj["metadata"] = {}
        if not isinstance(md, dict):
            raise bad_request(f"{t.kind} in version \"{self.version}\" cannot be handled as a {t.kind}: "
                              "metadata must be an object")
        if t.namespaced:
            ns = md.get("namespace")
            if ns and self.namespace and ns != self.namespace:
                raise bad_request("the namespace of the provided object does not match the namespace sent on "
                                  "the request")
            if self.namespace:
                md["namespace"] = self.namespace
        else:
            md.pop("namespace", None)
        if for_update and self.name and md.get("name") and md["name"] != self.name:
            raise bad_request(f'the name of the object ({md["name"]}) does not match the name on the URL '
                              f'({self.name})')
        if for_update and self.name:
            md.setdefault("name", self.name)
        obj["apiVersion"] = t.api_version(self.version)
        obj["kind"] = t.kind

    def ns_exists(self):
        if self.t.namespaced and self.namespace and self.store.get("Namespace", None, self.namespace) is None:
            raise StoreError(404, "NotFound", f'namespaces "{self.namespace}" not found',
                             {"name": self.namespace, "kind": "namespaces"})
