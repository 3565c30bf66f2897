"""HTTPS Kubernetes REST API server over the Store (see Tests/Sandbox/README.md for what differs
from a real cluster)."""

import copy
import datetime
import json
import logging
import queue
import random
import socket
import ssl
import struct
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import yaml

from . import access, conversion, protobuf, resources
from .certs import ADMIN_CN, ADMIN_ORG, PKI
from .faults import FaultError, FaultInjector
from .labels import LabelSelector, SelectorError
from .patches import PatchError, StrategicPatcher, apply_owned, field_paths, json_patch, merge_patch
from .resources import ResourceType
from .store import Store, StoreError, not_found
from . import defaults, fieldcheck
from .validation import bad_request, validate, validate_update

log = logging.getLogger("sandbox.apiserver")

ADMIN = "sandbox-admin"
VIEWER = "viewer"
K8S_VERSION = {"major": "1", "minor": "32", "gitVersion": "v1.32.0-sandbox", "gitCommit": "sandbox",
               "gitTreeState": "clean", "buildDate": "2025-01-01T00:00:00Z", "goVersion": "go1.23",
               "compiler": "gc", "platform": "linux/amd64"}
_GENERATE_CHARS = "bcdfghjklmnpqrstvwxz2456789"
_RETURNS_OBJECT = {"Pod", "Service", "Namespace"}   # plus every custom resource


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


def _age(ts: str | None) -> str:
    if not ts:
        return "<unknown>"
    try:
        then = datetime.datetime.strptime(ts, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc)
    except ValueError:
        return "<unknown>"
    s = int((datetime.datetime.now(datetime.timezone.utc) - then).total_seconds())
    if s < 120:
        return f"{max(s, 0)}s"
    if s < 7200:
        return f"{s // 60}m"
    if s < 172800:
        return f"{s // 3600}h"
    return f"{s // 86400}d"


def _table_columns(kind: str):
    """(column definitions, row function) for `kubectl get` tables."""
    def col(name, typ="string", fmt=""):
        return {"name": name, "type": typ, "format": fmt, "description": name, "priority": 0}

    st = lambda o: o.get("status") or {}
    sp = lambda o: o.get("spec") or {}
    if kind == "Pod":
        def row(o):
            cs = st(o).get("containerStatuses") or []
            ready = sum(1 for c in cs if c.get("ready"))
            total = len(sp(o).get("containers") or [])
            reason = st(o).get("reason") or st(o).get("phase", "Pending")
            for c in cs:
                state = c.get("state") or {}
                w = state.get("waiting") or state.get("terminated") or {}
                if w.get("reason"):
                    reason = w["reason"]
                elif "terminated" in state:
                    reason = f'ExitCode:{state["terminated"].get("exitCode", 0)}'
            if o["metadata"].get("deletionTimestamp"):
                reason = "Terminating"
            return [f"{ready}/{total}", reason, sum(c.get("restartCount", 0) for c in cs)]
        return [col("Ready"), col("Status"), col("Restarts", "integer")], row
    if kind in ("Deployment", "StatefulSet"):
        def row(o):
            r = [f'{st(o).get("readyReplicas", 0)}/{sp(o).get("replicas", 1)}']
            if kind == "Deployment":
                r += [st(o).get("updatedReplicas", 0), st(o).get("availableReplicas", 0)]
            return r
        cols = [col("Ready")] + ([col("Up-to-date", "integer"), col("Available", "integer")] if kind == "Deployment" else [])
        return cols, row
    if kind == "Secret":
        return [col("Type"), col("Data", "integer")], lambda o: [o.get("type", "Opaque"), len(o.get("data") or {})]
    if kind == "ConfigMap":
        return [col("Data", "integer")], lambda o: [len(o.get("data") or {})]
    if kind == "Job":
        def row(o):
            conds = {c.get("type"): c.get("status") for c in st(o).get("conditions") or []}
            s = "Complete" if conds.get("Complete") == "True" else "Failed" if conds.get("Failed") == "True" else "Running"
            return [s, f'{st(o).get("succeeded", 0)}/{sp(o).get("completions", 1)}']
        return [col("Status"), col("Completions")], row
    if kind == "CronJob":
        return [col("Schedule"), col("Suspend", "boolean"), col("Active", "integer")], \
            lambda o: [sp(o).get("schedule", ""), sp(o).get("suspend", False), len(st(o).get("active") or [])]
    if kind == "Service":
        return [col("Type"), col("Cluster-IP"), col("Ports")], lambda o: [
            sp(o).get("type", "ClusterIP"), sp(o).get("clusterIP", "<none>"),
            ",".join(f'{p.get("port")}/{p.get("protocol", "TCP")}' for p in sp(o).get("ports") or []) or "<none>"]
    if kind == "PersistentVolumeClaim":
        return [col("Status"), col("Volume")], lambda o: [st(o).get("phase", "Pending"), sp(o).get("volumeName", "")]
    if kind == "Namespace":
        return [col("Status")], lambda o: [st(o).get("phase", "Active")]
    if kind in ("ExternalSecret", "ClusterSecretStore", "SecretStore"):
        def row(o):
            c = next((c for c in st(o).get("conditions") or [] if c.get("type") == "Ready"), {})
            lead = [(sp(o).get("secretStoreRef") or {}).get("name", ""), sp(o).get("refreshInterval", "")] \
                if kind == "ExternalSecret" else []
            return lead + [c.get("reason", ""), c.get("status", "")]
        lead = [col("Store"), col("Refresh Interval")] if kind == "ExternalSecret" else []
        return lead + [col("Status"), col("Ready")], row
    return [], lambda o: []


def _parse_field_selector(text: str):
    out = []
    for term in filter(None, (t.strip() for t in text.split(","))):
        for op in ("!=", "==", "="):
            if op in term:
                k, v = term.split(op, 1)
                out.append((k.strip(), "!=" if op == "!=" else "=", v.strip()))
                break
        else:
            raise HTTPError(400, "BadRequest", f"invalid selector: '{text}'; can't understand '{term}'")
    return out


_FIELDS = {"metadata.name": ("metadata", "name"), "metadata.namespace": ("metadata", "namespace"),
           "status.phase": ("status", "phase"), "spec.nodeName": ("spec", "nodeName"), "type": ("type",)}


def _field_value(obj: dict, path: tuple):
    cur = obj
    for p in path:
        cur = cur.get(p) if isinstance(cur, dict) else None
    return cur if cur is not None else ""


class APIServer:
    """The HTTPS server; start() binds 127.0.0.1 on a free port (or the given one)."""

    def __init__(self, store: Store, faults: FaultInjector, pki: PKI, port: int = 0, kubectl: str = "kubectl"):
        self.store = store
        self.faults = faults
        self.pki = pki
        self.tokens = None      # serviceaccounts.TokenIssuer, set by the daemon
        self.kubectl = kubectl
        self.patcher = StrategicPatcher(kubectl)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(pki.server_cert, pki.server_key)
        ctx.load_verify_locations(pki.ca_cert)
        ctx.verify_mode = ssl.CERT_OPTIONAL
        ctx.set_alpn_protocols(["http/1.1"])
        self.ssl_context = ctx
        api = self

        class Server(ThreadingHTTPServer):
            daemon_threads = True
            allow_reuse_address = True
            request_queue_size = 64

            def finish_request(self, request, client_address):
                try:
                    request.settimeout(300)
                    request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                    tls = ctx.wrap_socket(request, server_side=True)
                except (ssl.SSLError, OSError) as e:
                    log.info("TLS handshake with %s failed: %s", client_address, e)
                    return
                try:
                    self.RequestHandlerClass(tls, client_address, self)
                finally:
                    try:
                        tls.close()
                    except OSError:
                        pass

            def handle_error(self, request, client_address):
                log.debug("connection error from %s", client_address, exc_info=True)

        class Handler(_Handler):
            server_api = api

        self.httpd = Server(("127.0.0.1", port), Handler)
        self.port = self.httpd.server_address[1]
        self._thread = None
        self._watchers_lock = threading.Lock()
        self._watchers: list = []
        self._history: list = []          # recent (rv, event, obj), for watches from a resourceVersion
        self._history_floor = 0
        self._owners: dict = {}           # uid → {fieldManager: fields applied} (server-side apply)
        store.subscribe(self._fan_out)

    def start(self):
        # read kubectl's protobuf descriptors now rather than on the first write that needs them
        threading.Thread(target=self._preload_schema, name="schema-preload", daemon=True).start()
        self._thread = threading.Thread(target=self.httpd.serve_forever, name="apiserver", daemon=True)
        self._thread.start()

    def _preload_schema(self):
        try:
            protobuf.schema(self.kubectl)
        except (OSError, protobuf.ProtobufError) as e:
            log.warning("protobuf schema not available: %s", e)

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()
        self.patcher.close()
        with self._watchers_lock:
            for q in self._watchers:
                q.put(None)

    # -- watch fan-out ---------------------------------------------------------------------------
    HISTORY = 5000

    def _fan_out(self, event, obj):
        rv = int(obj.get("metadata", {}).get("resourceVersion") or 0)
        with self._watchers_lock:
            self._history.append((rv, event, obj))
            if len(self._history) > self.HISTORY:
                self._history_floor = self._history.pop(0)[0]
            for q in self._watchers:
                q.put((rv, event, obj))

    def owners_of(self, uid: str | None) -> dict:
        """Server-side apply field ownership of an object: manager → set of field paths."""
        with self._watchers_lock:
            return {m: set(f) for m, f in self._owners.get(uid, {}).items()}

    def set_owner(self, uid: str, manager: str, fields: set):
        with self._watchers_lock:
            self._owners.setdefault(uid, {})[manager] = set(fields)

    def add_watcher(self, since: int | None):
        """A queue of (rv, event, obj), pre-filled with the history after `since`; raises
        ValueError when `since` is older than the kept history."""
        q: queue.Queue = queue.Queue()
        with self._watchers_lock:
            if since is not None:
                if since < self._history_floor:
                    raise ValueError(f"too old resource version: {since} ({self._history_floor})")
                for item in self._history:
                    if item[0] > since:
                        q.put(item)
            self._watchers.append(q)
        return q

    def remove_watcher(self, q):
        with self._watchers_lock:
            if q in self._watchers:
                self._watchers.remove(q)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "sandbox-apiserver"
    server_api: APIServer = None

    def log_message(self, fmt, *args):
        log.info("%s %s", self.address_string(), fmt % args)

    def do_GET(self):
        self._handle("GET")

    def do_POST(self):
        self._handle("POST")

    def do_PUT(self):
        self._handle("PUT")

    def do_PATCH(self):
        self._handle("PATCH")

    def do_DELETE(self):
        self._handle("DELETE")

    def finish(self):
        try:
            super().finish()
        except OSError:
            pass

    # -- plumbing ------------------------------------------------------------------------------
    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def _send(self, code: int, body, content_type="application/json", headers=None):
        data = body if isinstance(body, bytes) else (json.dumps(body) + "\n").encode()
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-cache, private")
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        for w in getattr(self, "warnings", ()):
            self.send_header("Warning", '299 - "' + w.replace('\\', '\\\\').replace('"', '\\"') + '"')
        self.warnings = []
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _status(self, code, reason, message, details=None, headers=None):
        self._send(code, status(code, reason, message, details), headers=headers)

    def _user(self) -> str | None:
        return access.authenticate(self, ADMIN_CN, ADMIN_ORG, ADMIN, VIEWER)

    def _reset(self):
        """Abort the connection with a TCP RST (SO_LINGER 0), sending nothing."""
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
        try:
            sock = socket.socket(fileno=self.connection.detach()) if isinstance(self.connection, ssl.SSLSocket) \
                else self.connection
            sock.close()
        except OSError:
            pass
        self.close_connection = True
        self.wfile = _NullWriter()

    def _apply_fault(self, method: str, path: str) -> bool:
        """Handle a matching "kube" fault; True when the request was answered by it."""
        rule = self.server_api.faults.take("kube", method, path)
        if rule is None:
            return False
        action = rule["action"]
        log.info("fault %s on %s %s", action, method, path)
        if action == "slow":
            time.sleep(rule.get("delay") or 2)
            return False
        if action in ("500", "503", "429"):
            code = int(action)
            reason, msg = {500: ("InternalError", "Internal error occurred: injected fault"),
                           503: ("ServiceUnavailable", "the server is currently unable to handle the request"),
                           429: ("TooManyRequests", "the server has received too many requests and has asked us to "
                                                    "try again later")}[code]
            details = {"causes": [{"message": "injected by the sandbox"}]} if code == 500 else \
                {"retryAfterSeconds": 1}
            headers = {"Retry-After": "1"} if code in (429, 503) else None
            self._status(code, reason, msg, details, headers)
            return True
        if action == "timeout":
            time.sleep(rule.get("delay") if rule.get("delay") is not None else 30)
            self.close_connection = True
            try:
                self.connection.close()
            except OSError:
                pass
            self.wfile = _NullWriter()
            return True
        if action == "reset":
            self._reset()
            return True
        return False

    def _handle(self, method: str):
        url = urllib.parse.urlsplit(self.path)
        path = url.path.rstrip("/") or "/"
        query = {k: v[-1] for k, v in urllib.parse.parse_qs(url.query, keep_blank_values=True).items()}
        try:
            body = self._read_body()
        except (ValueError, OSError):
            self._status(400, "BadRequest", "unable to read the request body")
            return
        try:
            if self._apply_fault(method, path):
                return
            user = self._user()
            if user is None:
                self._status(401, "Unauthorized", "Unauthorized")
                return
            Router(self, method, path, query, body, user).route()
        except (HTTPError, access.AccessError) as e:
            self._status(e.code, e.reason, e.message, e.details)
        except StoreError as e:
            self._status(e.code, e.reason, e.message, e.details)
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
            self.close_connection = True
        except Exception as e:      # a bug in the sandbox: answer as the real server's InternalError
            log.exception("internal error on %s %s", method, self.path)
            self._status(500, "InternalError", f"Internal error occurred: {e}")


class _NullWriter:
    def write(self, data):
        return len(data)

    def flush(self):
        pass

    def close(self):
        pass


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


def _is_resource_path(p: str) -> bool:
    """True for /api/V/… and /apis/G/V/… (RBAC resource requests); discovery, /version, /openapi
    and the like are non-resource URLs."""
    parts = p.strip("/").split("/")
    return (parts[0] == "api" and len(parts) >= 3) or (parts[0] == "apis" and len(parts) >= 4)


def served_versions(store: Store, t: ResourceType) -> list:
    """Built-in types: all their versions. Custom resources: the versions their CRD serves (none
    when the CRD is missing), so `kubectl patch crd` can stop serving a version."""
    if t.builtin:
        return list(t.versions)
    crd = store.get("CustomResourceDefinition", None, resources.crd_name(t))
    if crd is None:
        return []
    served = [v.get("name") for v in (crd.get("spec") or {}).get("versions") or [] if v.get("served")]
    return [v for v in t.versions if v in served]


def served_groups(store: Store) -> dict:
    """group → served versions (preferred first)."""
    out: dict = {}
    for t in resources.TYPES:
        vs = served_versions(store, t)
        if vs:
            cur = out.setdefault(t.group, [])
            cur.extend(v for v in vs if v not in cur)
    return out


class Router:
    """One request: parse the URL, check permission, run the verb."""

    def __init__(self, h: _Handler, method: str, path: str, query: dict, body: bytes, user: str):
        self.h, self.method, self.path, self.query, self.body, self.user = h, method, path, query, body, user
        self.api = h.server_api
        self.store = self.api.store
        self.dry_run = query.get("dryRun") == "All"

    # -- routing -------------------------------------------------------------------------------
    def route(self):
        p = self.path
        if p.startswith("/sandbox/"):
            return self.admin()
        if access.review_target(p):
            return self.access_review()
        if not self.user.admin and not _is_resource_path(p):
            access.check_path(self.store, self.user, self.method, p)
        if self.method == "GET":
            if p == "/apis/authorization.k8s.io/v1":
                return self.h._send(200, {"kind": "APIResourceList", "apiVersion": "v1",
                                          "groupVersion": "authorization.k8s.io/v1",
                                          "resources": access.discovery_resources()})
            if p == "/version":
                return self.h._send(200, K8S_VERSION)
            if p in ("/healthz", "/readyz", "/livez"):
                return self.h._send(200, b"ok", "text/plain")
            if p == "/api":
                addr = f"127.0.0.1:{self.api.port}"
                return self.h._send(200, {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs":
                                          [{"clientCIDR": "0.0.0.0/0", "serverAddress": addr}]})
            if p == "/openapi/v3" or p.startswith("/openapi/v3/"):
                return self.openapi_v3(p)
            if p == "/apis":
                return self.h._send(200, {"kind": "APIGroupList", "apiVersion": "v1", "groups": [
                    self._group(g, vs) for g, vs in served_groups(self.store).items() if g] +
                    [self._group("authorization.k8s.io", ["v1"])]})
        parts = p.strip("/").split("/")
        if parts[0] == "api" and len(parts) >= 2:
            group, version, rest = "", parts[1], parts[2:]
        elif parts[0] == "apis" and len(parts) >= 2:
            group = parts[1]
            gv = served_groups(self.store).get(group)
            if gv is None:
                raise self._nf_path()
            if len(parts) == 2:
                if self.method != "GET":
                    raise self._method_not_allowed()
                return self.h._send(200, self._group(group, gv) | {"kind": "APIGroup", "apiVersion": "v1"})
            version, rest = parts[2], parts[3:]
        else:
            raise self._nf_path()
        if version not in served_groups(self.store).get(group, []):
            raise self._nf_path()
        if not rest:
            if self.method != "GET":
                raise self._method_not_allowed()
            return self.h._send(200, {"kind": "APIResourceList", "apiVersion": "v1",
                                      "groupVersion": f"{group}/{version}" if group else version,
                                      "resources": _discovery_resources(self.store, group, version)})
        namespace = None
        if rest[0] == "namespaces" and len(rest) >= 3 and not (group == "" and len(rest) == 3 and
                                                                rest[2] in ("status", "finalize")):
            namespace, rest = rest[1], rest[2:]
        t = resources.by_plural(group, version, rest[0])
        if t is not None and version not in served_versions(self.store, t):
            t = None
        if t is None or len(rest) > 3:
            raise self._nf_path()
        if namespace is not None and not t.namespaced:
            raise self._nf_path()
        name = rest[1] if len(rest) >= 2 else None
        sub = rest[2] if len(rest) == 3 else None
        if sub is not None and sub not in t.subresources:
            raise self._nf_path()
        self.t, self.version, self.namespace, self.name, self.sub = t, version, namespace, name, sub
        return self.resource()

    @staticmethod
    def _group(g, vs):
        versions = [{"groupVersion": f"{g}/{v}", "version": v} for v in vs]
        return {"name": g, "versions": versions, "preferredVersion": versions[0]}

    def _nf_path(self):
        return HTTPError(404, "NotFound", "the server could not find the requested resource", {})

    def _method_not_allowed(self):
        return HTTPError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource", {})

    # -- authorization -------------------------------------------------------------------------
    def _verb(self) -> str:
        if self.method == "GET":
            if self.query.get("watch") in ("true", "1"):
                return "watch"
            return "get" if self.name else "list"
        return {"POST": "create", "PUT": "update", "PATCH": "patch",
                "DELETE": "delete" if self.name else "deletecollection"}[self.method]

    def authorize(self):
        access.check(self.store, self.user, access.Attributes(
            verb=self._verb(), group=self.t.group, resource=self.t.plural, subresource=self.sub or "",
            namespace=self.namespace or "", name=self.name or ""))

    # -- helpers -------------------------------------------------------------------------------
    def _decode(self, content_type: str = "application/json"):
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

    def _out(self, obj: dict) -> dict:
        """An object as served under the requested version (custom resources converted as the CRD says)."""
        try:
            obj = conversion.read_as(self.store, self.t, obj, self.version)
        except conversion.ConversionError as e:
            raise HTTPError(e.code, e.reason, e.message)
        obj["apiVersion"] = self.t.api_version(self.version)
        obj["kind"] = self.t.kind
        return obj

    def _stored(self, obj: dict) -> dict:
        """A written object converted to the CRD's storage version (built-in kinds: as they are)."""
        try:
            return conversion.to_storage(self.store, self.t, obj)
        except conversion.ConversionError as e:
            raise HTTPError(e.code, e.reason, e.message)

    def _get_existing(self) -> dict:
        obj = self.store.get(self.t.kind, self.namespace, self.name)
        if obj is None:
            raise not_found(self.t.kind, self.name)
        return obj

    def _check_body(self, obj, for_update: bool):
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

    def _ns_exists(self):
        if self.t.namespaced and self.namespace and self.store.get("Namespace", None, self.namespace) is None:
            raise StoreError(404, "NotFound", f'namespaces "{self.namespace}" not found',
                             {"name": self.namespace, "kind": "namespaces"})

    # -- verbs ---------------------------------------------------------------------------------
    def resource(self):
        self.authorize()
        m, sub = self.method, self.sub
        if sub == "log":
            if m != "GET":
                raise self._method_not_allowed()
            return self.pod_log()
        if sub == "scale":
            return self.scale()
        if sub == "finalize":
            raise self._method_not_allowed()
        if sub == "token":
            if m != "POST":
                raise self._method_not_allowed()
            review = self._decode(self.h.headers.get("Content-Type", "application/json")) if self.body else {}
            return self.h._send(201, self.api.tokens.token_request(self.store, self.namespace, self.name, review))
        if self.name is None:
            if m == "GET":
                return self.watch() if self._verb() == "watch" else self.list()
            if m == "POST":
                return self.create()
            if m == "DELETE":
                return self.delete_collection()
            raise self._method_not_allowed()
        if m == "GET":
            if self._verb() == "watch":
                return self.watch()
            return self.h._send(200, self._out(self._get_existing()))
        if m == "PUT":
            return self.replace(status_only=sub == "status")
        if m == "PATCH":
            return self.patch(status_only=sub == "status")
        if m == "DELETE" and sub is None:
            return self.delete()
        raise self._method_not_allowed()

    def _select(self, items: list) -> list:
        fs = self.query.get("fieldSelector")
        if fs:
            reqs = _parse_field_selector(fs)
            for k, _op, _v in reqs:
                if k not in _FIELDS:
                    raise HTTPError(400, "BadRequest", f'"{k}" is not a known field selector: only '
                                                       f'"metadata.name", "metadata.namespace"')
            items = [o for o in items if all((str(_field_value(o, _FIELDS[k])) == v) == (op == "=")
                                             for k, op, v in reqs)]
        return items

    def _list_items(self) -> list:
        try:
            items = self.store.list(self.t.kind, self.namespace, self.query.get("labelSelector") or None)
        except SelectorError as e:
            raise HTTPError(400, "BadRequest", f"unable to parse requirement: {e}")
        return self._select(items)

    def list(self):
        items = [self._out(o) for o in self._list_items()]
        rv = self.store.resource_version()
        if "as=Table" in (self.h.headers.get("Accept") or ""):
            return self.table(items, rv)
        if self.t.builtin:
            for o in items:
                o.pop("apiVersion", None)
                o.pop("kind", None)
        self.h._send(200, {"kind": f"{self.t.kind}List", "apiVersion": self.t.api_version(self.version),
                           "metadata": {"resourceVersion": rv}, "items": items})

    def table(self, items: list, rv: str):
        cols, row = _table_columns(self.t.kind)
        definitions = [{"name": "Name", "type": "string", "format": "name", "description": "Name", "priority": 0}]
        definitions += cols
        definitions.append({"name": "Age", "type": "string", "format": "", "description": "Age", "priority": 0})
        rows = []
        for o in items:
            meta = {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": o["metadata"]}
            rows.append({"cells": [o["metadata"]["name"]] + row(o) + [_age(o["metadata"].get("creationTimestamp"))],
                         "object": meta})
        self.h._send(200, {"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": {"resourceVersion": rv},
                           "columnDefinitions": definitions, "rows": rows})

    def watch(self):
        """Streams watch events: with a resourceVersion, the changes after it (from a history of the
        last 5000 events; older → ERROR 410 Expired); without, ADDED for the current objects first."""
        rv_param = self.query.get("resourceVersion")
        since = None
        if rv_param not in (None, "", "0"):
            if not rv_param.isdigit():
                raise bad_request(f'invalid resource version "{rv_param}"')
            since = int(rv_param)
        sel = LabelSelector.parse(self.query["labelSelector"]) if self.query.get("labelSelector") else None
        fs = _parse_field_selector(self.query["fieldSelector"]) if self.query.get("fieldSelector") else []
        try:
            q = self.api.add_watcher(since)
            expired = None
        except ValueError as e:
            q, expired = None, str(e)
        try:
            self.h.send_response(200)
            self.h.send_header("Content-Type", "application/json")
            self.h.send_header("Transfer-Encoding", "chunked")
            self.h.end_headers()

            def emit(event, obj):
                data = (json.dumps({"type": event, "object": obj}) + "\n").encode()
                self.h.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
                self.h.wfile.flush()

            if expired:
                emit("ERROR", status(410, "Expired", expired))
                self.h.wfile.write(b"0\r\n\r\n")
                return
            if since is None:
                for o in self._list_items():
                    if not self.name or o["metadata"]["name"] == self.name:
                        emit("ADDED", self._out(o))
            deadline = time.monotonic() + float(self.query.get("timeoutSeconds") or 1800)
            while time.monotonic() < deadline:
                try:
                    ev = q.get(timeout=min(5.0, max(deadline - time.monotonic(), 0.01)))
                except queue.Empty:
                    continue
                if ev is None:
                    break
                _rv, event, obj = ev
                md = obj.get("metadata", {})
                if obj.get("kind") != self.t.kind or (self.namespace and md.get("namespace") != self.namespace):
                    continue
                if self.name and md.get("name") != self.name:
                    continue
                if sel and not sel.matches(md.get("labels") or {}):
                    continue
                if fs and not all((str(_field_value(obj, _FIELDS.get(k, (k,)))) == v) == (op == "=")
                                  for k, op, v in fs):
                    continue
                try:
                    out = self._out(json.loads(json.dumps(obj)))
                except HTTPError as e:      # e.g. a conversion webhook that is gone: the watch ends with the error
                    emit("ERROR", status(e.code, e.reason, e.message))
                    break
                emit(event, out)
            self.h.wfile.write(b"0\r\n\r\n")
            self.h.wfile.flush()
        finally:
            if q is not None:
                self.api.remove_watcher(q)

    def create(self):
        obj = self._decode(self.h.headers.get("Content-Type", "application/json"))
        self._check_body(obj, for_update=False)
        self._check_fields(obj)
        return self._create_checked(obj)

    def _create_checked(self, obj: dict):
        md = obj["metadata"]
        if not md.get("name") and md.get("generateName"):
            md["name"] = md["generateName"] + "".join(random.choice(_GENERATE_CHARS) for _ in range(5))
        for k in ("uid", "resourceVersion", "creationTimestamp", "generation", "deletionTimestamp", "managedFields"):
            md.pop(k, None)
        if self.t.has_status:
            obj.pop("status", None)
        validate(self.t, obj)
        self._ns_exists()
        created = self.store.create(self._stored(obj), dry_run=self.dry_run)
        self.h._send(201, self._out(created))
        return created

    def replace(self, status_only: bool):
        obj = self._decode(self.h.headers.get("Content-Type", "application/json"))
        self._check_body(obj, for_update=True)
        self._check_fields(obj)
        self._ns_exists()
        if status_only:
            self._get_existing()
            return self.h._send(200, self._out(self.store.update_status(self._stored(obj), dry_run=self.dry_run)))
        current = self._get_existing()
        if not self.t.builtin and not obj["metadata"].get("resourceVersion"):
            raise StoreError(422, "Invalid", f'{self.t.kind}.{self.t.group} "{self.name}" is invalid: '
                                             f'metadata.resourceVersion: Invalid value: 0x0: must be specified for an update',
                             {"name": self.name, "group": self.t.group, "kind": self.t.kind, "causes": [
                                 {"reason": "FieldValueInvalid", "message": "Invalid value: 0x0: must be specified "
                                  "for an update", "field": "metadata.resourceVersion"}]})
        validate(self.t, obj)
        self._immutable(current, obj)
        self.h._send(200, self._out(self.store.update(self._stored(obj), dry_run=self.dry_run)))

    def _check_fields(self, obj: dict, apply: bool = False):
        """fieldValidation: Strict → 400 on unknown fields, Warn (default) → Warning headers, Ignore."""
        mode = self.query.get("fieldValidation") or "Warn"
        if mode not in ("Strict", "Warn", "Ignore"):
            raise bad_request(f'fieldValidation must be "Ignore", "Warn" or "Strict", not "{mode}"')
        if mode == "Ignore" and not apply:
            return
        unknown = fieldcheck.unknown_fields(self.t, self.version, obj, self.api.kubectl)
        if not unknown:
            return
        if apply:
            md = obj.get("metadata") or {}
            where = f'{md.get("namespace")}/{md.get("name")}' if md.get("namespace") else md.get("name")
            raise bad_request(f"failed to create typed patch object ({where}; {self.t.api_version(self.version)}, "
                              f"Kind={self.t.kind}): " + ", ".join(f".{u}: field not declared in schema"
                                                                    for u in unknown))
        if mode == "Strict":
            raise bad_request(f'{self.t.kind} in version "{self.version}" cannot be handled as a {self.t.kind}: '
                              f'strict decoding error: ' + ", ".join(f'unknown field "{u}"' for u in unknown))
        self.h.warnings = [f'unknown field "{u}"' for u in unknown]

    def _immutable(self, current: dict, new: dict):
        """Reject changes of immutable fields (compared after defaulting, as the real server does)."""
        candidate = copy.deepcopy(new)
        candidate["metadata"]["uid"] = current["metadata"].get("uid")
        defaults.apply(candidate)
        validate_update(self.t, current, candidate)

    def _apply_patch(self, current: dict, ctype: str) -> dict:
        ctype = ctype.split(";")[0].strip()
        if ctype == "application/strategic-merge-patch+json":
            if not self.t.builtin:
                raise HTTPError(415, "UnsupportedMediaType",
                                "the body of the request was in an unknown format - accepted media types include: "
                                "application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml",
                                {})
            return self.api.patcher.patch(current, self._decode())
        if ctype == "application/merge-patch+json":
            p = self._decode()
            if not isinstance(p, dict):
                raise bad_request("json: cannot unmarshal into Go value of type map[string]interface {}")
            return merge_patch(current, p)
        if ctype == "application/json-patch+json":
            return json_patch(current, self._decode())
        if ctype == "application/apply-patch+yaml":
            applied = self._decode("yaml")
            if not isinstance(applied, dict):
                raise bad_request("apply patch must be a YAML or JSON object")
            owners = self.api.owners_of(current["metadata"].get("uid"))
            manager = self.query.get("fieldManager", "")
            others = set().union(*[f for m, f in owners.items() if m != manager])
            result, self._applied_fields = apply_owned(current, applied, owners.get(manager, set()), others)
            return result
        raise HTTPError(415, "UnsupportedMediaType",
                        "the body of the request was in an unknown format - accepted media types include: "
                        "application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml"
                        + (", application/strategic-merge-patch+json" if self.t.builtin else ""), {})

    def patch(self, status_only: bool):
        ctype = self.h.headers.get("Content-Type", "")
        is_apply = ctype.startswith("application/apply-patch+yaml")
        if is_apply and not self.query.get("fieldManager"):
            raise HTTPError(400, "BadRequest", "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required "
                                               "value: is required for apply patch")
        self._ns_exists()
        for attempt in range(5):
            current = self.store.get(self.t.kind, self.namespace, self.name)
            if current is None:
                if not is_apply or status_only:
                    raise not_found(self.t.kind, self.name)
                obj = self._decode("yaml")
                self._check_body(obj, for_update=True)
                self._check_fields(obj, apply=True)
                fields = field_paths(obj)
                created = self._create_checked(obj)
                if not self.dry_run:
                    self.api.set_owner(created["metadata"]["uid"], self.query["fieldManager"], fields)
                return created
            self._out(current)
            try:
                patched = self._apply_patch(copy.deepcopy(current), ctype)
            except PatchError as e:
                if e.code == 400:
                    raise HTTPError(400, "BadRequest", e.message)
                raise HTTPError(422, "Invalid", "the server rejected our request due to an error in our request",
                                {"causes": [{"reason": "FieldValueInvalid", "message": e.message}]})
            if not isinstance(patched, dict):
                raise bad_request("the patched object is not an object")
            pmd = patched.setdefault("metadata", {})
            if pmd.get("name") != self.name:
                raise bad_request(f'the name of the object ({pmd.get("name")}) does not match the name on the URL '
                                  f'({self.name})')
            self._check_body(patched, for_update=True)
            if is_apply:
                self._check_fields(self._decode("yaml"), apply=True)
            else:
                self._check_fields(patched)
            pinned = pmd.get("resourceVersion") != current["metadata"]["resourceVersion"]
            try:
                if status_only:
                    return self.h._send(200, self._out(self.store.update_status(self._stored(patched), dry_run=self.dry_run)))
                validate(self.t, patched)
                self._immutable(current, patched)
                updated = self.store.update(self._stored(patched), dry_run=self.dry_run)
                if is_apply and not self.dry_run:
                    self.api.set_owner(updated["metadata"]["uid"], self.query["fieldManager"], self._applied_fields)
                return self.h._send(200, self._out(updated))
            except StoreError as e:
                if e.code != 409 or pinned or attempt == 4:
                    raise

    def delete(self):
        opts = {}
        if self.body:
            try:
                opts = json.loads(self.body) or {}
            except ValueError:
                raise bad_request("DeleteOptions could not be decoded")
        dry = self.dry_run or "All" in (opts.get("dryRun") or [])
        prop = self.query.get("propagationPolicy") or opts.get("propagationPolicy") or "Background"
        if prop not in ("Background", "Foreground", "Orphan"):
            raise HTTPError(422, "Invalid", f'DeleteOptions.meta.k8s.io "" is invalid: propagationPolicy: Unsupported '
                                            f'value: "{prop}": supported values: "Foreground", "Background", "Orphan", "nil"')
        if self.t.kind == "Namespace" and self.name in ("default", "kube-system", "kube-public"):
            raise HTTPError(403, "Forbidden", f'namespaces "{self.name}" is forbidden: this namespace may not be deleted',
                            {"name": self.name, "kind": "namespaces"})
        pre = opts.get("preconditions") or {}
        self._out(self._get_existing())    # the server reads (decodes, converts) the object before deleting it
        old = self.store.delete(self.t.kind, self.namespace, self.name, propagation=prop, dry_run=dry,
                                uid=pre.get("uid"), resource_version=pre.get("resourceVersion"))
        if old is None:
            raise not_found(self.t.kind, self.name)
        self._out(old)
        if self.t.kind in _RETURNS_OBJECT or not self.t.builtin or prop in ("Foreground", "Orphan"):
            old["metadata"]["deletionTimestamp"] = old["metadata"].get("deletionTimestamp") or \
                datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
            if self.t.kind == "Namespace":
                old.setdefault("status", {})["phase"] = "Terminating"
            return self.h._send(200, old)
        details = {"name": self.name, "kind": self.t.plural, "uid": old["metadata"].get("uid")}
        if self.t.group:
            details["group"] = self.t.group
        self.h._send(200, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
                           "details": details})

    def delete_collection(self):
        items = self._list_items()
        out = []
        for o in items:
            old = self.store.delete(self.t.kind, o["metadata"].get("namespace"), o["metadata"]["name"],
                                    dry_run=self.dry_run)
            if old is not None:
                out.append(self._out(old))
        self.h._send(200, {"kind": f"{self.t.kind}List", "apiVersion": self.t.api_version(self.version),
                           "metadata": {"resourceVersion": self.store.resource_version()}, "items": out})

    def pod_log(self):
        pod = self._get_existing()
        text = self.store.get_log(self.namespace, self.name)
        containers = [c.get("name") for c in (pod.get("spec") or {}).get("containers") or []]
        container = self.query.get("container") or (containers[0] if containers else "")
        if self.query.get("container") and container not in containers:
            raise bad_request(f"container {container} is not valid for pod {self.name}")
        if text is None:
            phase = (pod.get("status") or {}).get("phase", "Pending")
            if phase == "Pending":
                reason = "ContainerCreating"
                for cs in (pod.get("status") or {}).get("containerStatuses") or []:
                    reason = ((cs.get("state") or {}).get("waiting") or {}).get("reason") or reason
                raise bad_request(f'container "{container}" in pod "{self.name}" is waiting to start: {reason}')
            text = ""
        if self.query.get("tailLines"):
            try:
                n = int(self.query["tailLines"])
            except ValueError:
                raise bad_request("tailLines must be an integer")
            lines = text.splitlines(keepends=True)
            text = "".join(lines[-n:]) if n > 0 else ""
        if self.query.get("follow") not in ("true", "1"):
            return self.h._send(200, text.encode(), "text/plain")
        self.follow_log(text)

    def follow_log(self, text: str):
        """Stream the log: what there is, then new output every 0.25 s until the Pod has finished
        (or is gone, or 30 minutes passed)."""
        self.h.send_response(200)
        self.h.send_header("Content-Type", "text/plain")
        self.h.send_header("Transfer-Encoding", "chunked")
        self.h.end_headers()
        sent = len(self.store.get_log(self.namespace, self.name) or "")

        def chunk(data: str):
            if data:
                b = data.encode()
                self.h.wfile.write(b"%x\r\n%s\r\n" % (len(b), b))
                self.h.wfile.flush()
        chunk(text)
        deadline = time.monotonic() + 1800
        while time.monotonic() < deadline:
            pod = self.store.get("Pod", self.namespace, self.name)
            current = self.store.get_log(self.namespace, self.name) or ""
            if len(current) > sent:
                chunk(current[sent:])
                sent = len(current)
            if pod is None or (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
                break
            time.sleep(0.25)
        self.h.wfile.write(b"0\r\n\r\n")
        self.h.wfile.flush()

    def _scale_of(self, obj: dict) -> dict:
        md = obj["metadata"]
        sel = ((obj.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
        return {"kind": "Scale", "apiVersion": "autoscaling/v1",
                "metadata": {k: md[k] for k in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp")
                             if k in md},
                "spec": {"replicas": (obj.get("spec") or {}).get("replicas", 1)},
                "status": {"replicas": (obj.get("status") or {}).get("replicas", 0),
                           "selector": ",".join(f"{k}={v}" for k, v in sorted(sel.items()))}}

    def scale(self):
        if self.method not in ("GET", "PUT", "PATCH"):
            raise self._method_not_allowed()
        for attempt in range(5):
            current = self._get_existing()
            sc = self._scale_of(current)
            if self.method == "GET":
                return self.h._send(200, sc)
            if self.method == "PUT":
                new = self._decode()
                if not isinstance(new, dict):
                    raise bad_request("the object provided is unrecognized (must be of type Scale)")
            else:
                ctype = self.h.headers.get("Content-Type", "").split(";")[0].strip()
                try:
                    if ctype in ("application/merge-patch+json", "application/strategic-merge-patch+json"):
                        new = merge_patch(sc, self._decode())
                    elif ctype == "application/json-patch+json":
                        new = json_patch(sc, self._decode())
                    else:
                        raise HTTPError(415, "UnsupportedMediaType", "the body of the request was in an unknown "
                                        "format - accepted media types include: application/json-patch+json, "
                                        "application/merge-patch+json, application/strategic-merge-patch+json", {})
                except PatchError as e:
                    raise HTTPError(422, "Invalid", "the server rejected our request due to an error in our request",
                                    {"causes": [{"reason": "FieldValueInvalid", "message": e.message}]})
            replicas = (new.get("spec") or {}).get("replicas")
            if not isinstance(replicas, int) or replicas < 0:
                raise StoreError(422, "Invalid", f'Scale.autoscaling "{self.name}" is invalid: spec.replicas: Invalid '
                                                 f'value: {replicas}: must be greater than or equal to 0',
                                 {"name": self.name, "group": "autoscaling", "kind": "Scale", "causes": [
                                     {"reason": "FieldValueInvalid", "field": "spec.replicas",
                                      "message": f"Invalid value: {replicas}: must be greater than or equal to 0"}]})
            current["spec"]["replicas"] = replicas
            rv = (new.get("metadata") or {}).get("resourceVersion")
            current["metadata"]["resourceVersion"] = rv or current["metadata"]["resourceVersion"]
            try:
                updated = self.store.update(current, dry_run=self.dry_run)
            except StoreError as e:
                if e.code == 409 and not rv and attempt < 4:
                    continue
                raise
            return self.h._send(200, self._scale_of(updated))

    # -- SelfSubjectAccessReview (`kubectl auth can-i`) --------------------------------------
    def access_review(self):
        self.h._send(201, access.access_review(self.store, self.user, self.method, self.path, self.body,
                                               self.h.headers.get("Content-Type", ""), self.api.kubectl))

    # -- OpenAPI v3 (just enough for kubectl to know that the server validates fields) ----------
    def openapi_v3(self, p: str):
        gvs = [(g, v) for g, vs in served_groups(self.store).items() for v in vs]
        def rel(g, v):
            return f"api/{v}" if not g else f"apis/{g}/{v}"
        if p == "/openapi/v3":
            return self.h._send(200, {"paths": {rel(g, v): {"serverRelativeURL": f"/openapi/v3/{rel(g, v)}?hash=sandbox1"}
                                                for g, v in gvs}})
        want = p[len("/openapi/v3/"):]
        for g, v in gvs:
            if rel(g, v) == want:
                return self.h._send(200, _openapi_gv(self.store, g, v))
        raise HTTPError(404, "NotFound", "the server could not find the requested resource", {})

    # -- admin endpoint ------------------------------------------------------------------------
    def admin(self):
        if self.user != ADMIN:
            raise HTTPError(403, "Forbidden", f'forbidden: User "{self.user}" cannot {self.method.lower()} path '
                                              f'"{self.path}"', {})
        if self.path != "/sandbox/faults":
            raise self._nf_path()
        if self.method == "POST":
            try:
                rule = json.loads(self.body or b"null")
                self.api.faults.add(rule)
            except (ValueError, FaultError) as e:
                raise HTTPError(400, "BadRequest", f"invalid fault rule: {e}")
            return self.h._send(201, {"rules": self.api.faults.rules()})
        if self.method == "DELETE":
            self.api.faults.clear()
            return self.h._send(200, {"rules": []})
        if self.method == "GET":
            return self.h._send(200, {"rules": self.api.faults.rules()})
        raise self._method_not_allowed()
