"""GCP Secret Manager v1 REST emulator (plain HTTP on 127.0.0.1).

Semantics follow the public API reference:
- secret ids match [A-Za-z0-9_-]{1,255}; anything else is 400 INVALID_ARGUMENT;
- creating an existing secret is 409 ALREADY_EXISTS; unknown secrets/versions are 404 NOT_FOUND;
- `latest` is an alias of the most recently *created* version, whatever its state: if that version
  is DISABLED or DESTROYED, accessing `latest` fails with 400 FAILED_PRECONDITION (real GCP does
  not fall back to an older enabled version);
- accessing a DISABLED/DESTROYED version is 400 FAILED_PRECONDITION
  "Secret Version [NAME] is in DISABLED state."; DESTROYED is terminal (enable/disable fail);
- every request needs `Authorization: Bearer <token>`: none or an unknown token is
  401 UNAUTHENTICATED, the `denied` token is 403 PERMISSION_DENIED;
- errors are {"error": {"code", "message", "status"}}.
Version names use the project id given in the URL (real GCP answers with the project number).
"""
import base64
import json
import re
import socket
import struct
import threading
import time
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlparse

from . import requestcount
from .httpanswer import end_headers_with

SECRET_ID = re.compile(r"^[A-Za-z0-9_-]{1,255}$")
DENIED_TOKEN = "sandbox-denied-token"


def _crc32c_table() -> list[int]:
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return table


_TABLE = _crc32c_table()


def crc32c(data: bytes) -> int:
    """CRC32C (Castagnoli), as Secret Manager's dataCrc32c."""
    c = 0xFFFFFFFF
    for b in data:
        c = _TABLE[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class ApiError(Exception):
    """A Google API error (HTTP code, canonical status, message)."""

    def __init__(self, code: int, status: str, message: str):
        super().__init__(message)
        self.code, self.status, self.message = code, status, message

    def body(self) -> dict:
        return {"error": {"code": self.code, "message": self.message, "status": self.status}}


class SecretManagerState:
    """The emulator's data: projects → secrets → versions. Thread-safe."""

    def __init__(self):
        self.lock = threading.Lock()
        self.projects: dict[str, dict[str, dict]] = {}
        self._clock = 0     # the last change's number: a changed secret gets the next one as its "stamp"

    def _touch(self, s: dict) -> None:
        self._clock += 1
        s["stamp"] = self._clock

    def stamp(self, project: str, sid: str) -> int | None:
        """A number that changes whenever the secret or one of its versions changes (also when it is
        deleted and created again); None when there is no such secret."""
        with self.lock:
            s = self.projects.get(project, {}).get(sid)
            return s["stamp"] if s is not None else None

    # -- helpers
    def _secret(self, project: str, sid: str) -> dict:
        s = self.projects.get(project, {}).get(sid)
        if s is None:
            raise ApiError(404, "NOT_FOUND", f"Secret [projects/{project}/secrets/{sid}] not found.")
        return s

    @staticmethod
    def _public_secret(s: dict) -> dict:
        out = {k: v for k, v in s.items() if k not in ("versions", "stamp")}
        return json.loads(json.dumps(out))

    @staticmethod
    def _public_version(v: dict) -> dict:
        return {k: v[k] for k in ("name", "createTime", "destroyTime", "state", "replicationStatus",
                                  "etag", "clientSpecifiedPayloadChecksum") if k in v}

    def _version(self, project: str, sid: str, ver: str, for_access: bool = False) -> dict:
        s = self._secret(project, sid)
        if ver == "latest":
            if not s["versions"]:
                raise ApiError(404, "NOT_FOUND",
                               f"Secret [projects/{project}/secrets/{sid}] not found or has no versions.")
            return s["versions"][-1]
        if not ver.isdigit():
            raise ApiError(400, "INVALID_ARGUMENT", f"Invalid version id [{ver}].")
        n = int(ver)
        if n < 1 or n > len(s["versions"]):
            raise ApiError(404, "NOT_FOUND",
                           f"Secret Version [projects/{project}/secrets/{sid}/versions/{ver}] not found.")
        return s["versions"][n - 1]

    # -- operations
    def create_secret(self, project: str, sid: str | None, body: dict) -> dict:
        if not sid:
            raise ApiError(400, "INVALID_ARGUMENT", "Secret ID is required (query parameter secretId).")
        if not SECRET_ID.match(sid):
            raise ApiError(400, "INVALID_ARGUMENT",
                           f"The provided Secret ID [{sid}] does not match the expected format "
                           "[[a-zA-Z_0-9-]{1,255}]")
        repl = body.get("replication")
        if not isinstance(repl, dict) or not (set(repl) & {"automatic", "userManaged"}):
            raise ApiError(400, "INVALID_ARGUMENT", "Secret.replication must be specified.")
        with self.lock:
            secrets = self.projects.setdefault(project, {})
            if sid in secrets:
                raise ApiError(409, "ALREADY_EXISTS", f"Secret [projects/{project}/secrets/{sid}] already exists.")
            s = {"name": f"projects/{project}/secrets/{sid}", "replication": repl,
                 "createTime": _now(), "etag": f'"{int(time.time() * 1e6):x}"', "versions": []}
            if isinstance(body.get("labels"), dict):
                s["labels"] = body["labels"]
            if isinstance(body.get("annotations"), dict):
                s["annotations"] = body["annotations"]
            secrets[sid] = s
            self._touch(s)
            return self._public_secret(s)

    def get_secret(self, project: str, sid: str) -> dict:
        with self.lock:
            return self._public_secret(self._secret(project, sid))

    def list_secrets(self, project: str, page_size: int, token: str) -> dict:
        with self.lock:
            items = [self._public_secret(s) for _, s in sorted(self.projects.get(project, {}).items())]
        return _page(items, "secrets", page_size, token)

    def delete_secret(self, project: str, sid: str) -> dict:
        with self.lock:
            self._secret(project, sid)
            del self.projects[project][sid]
            return {}

    def add_version(self, project: str, sid: str, body: dict) -> dict:
        payload = body.get("payload")
        if not isinstance(payload, dict) or "data" not in payload:
            raise ApiError(400, "INVALID_ARGUMENT", "Secret Payload cannot be empty.")
        try:
            data = base64.b64decode(payload["data"], validate=True)
        except (ValueError, TypeError):
            raise ApiError(400, "INVALID_ARGUMENT",
                           "Invalid value at 'payload.data' (TYPE_BYTES), Base64 decoding failed")
        if len(data) > 65536:
            raise ApiError(400, "INVALID_ARGUMENT", "Secret payload exceeds 65536 bytes.")
        given = payload.get("dataCrc32c")
        if given is not None:
            try:
                ok = int(given) == crc32c(data)
            except (TypeError, ValueError):
                ok = False
            if not ok:
                raise ApiError(400, "INVALID_ARGUMENT",
                               "Checksum mismatch: the provided data_crc32c does not match the payload.")
        with self.lock:
            s = self._secret(project, sid)
            n = len(s["versions"]) + 1
            v = {"name": f"projects/{project}/secrets/{sid}/versions/{n}", "createTime": _now(),
                 "state": "ENABLED", "replicationStatus": {"automatic": {}},
                 "etag": f'"{int(time.time() * 1e6):x}"',
                 "clientSpecifiedPayloadChecksum": given is not None, "data": data,
                 "crc32c": str(crc32c(data))}     # computed once: every access answers it
            s["versions"].append(v)
            self._touch(s)
            return self._public_version(v)

    def get_version(self, project: str, sid: str, ver: str) -> dict:
        with self.lock:
            return self._public_version(self._version(project, sid, ver))

    def list_versions(self, project: str, sid: str, page_size: int, token: str, filt: str) -> dict:
        with self.lock:
            vs = [self._public_version(v) for v in reversed(self._secret(project, sid)["versions"])]
        m = re.match(r"^\s*state\s*[:=]\s*(\w+)\s*$", filt or "")
        if m:
            vs = [v for v in vs if v["state"] == m.group(1).upper()]
        return _page(vs, "versions", page_size, token)

    def access(self, project: str, sid: str, ver: str) -> dict:
        with self.lock:
            if ver == "latest" and sid not in self.projects.get(project, {}):
                raise ApiError(404, "NOT_FOUND",
                               f"Secret [projects/{project}/secrets/{sid}] not found or has no versions.")
            v = self._version(project, sid, ver)
            if v["state"] != "ENABLED":
                raise ApiError(400, "FAILED_PRECONDITION", f"Secret Version [{v['name']}] is in {v['state']} state.")
            return {"name": v["name"],
                    "payload": {"data": base64.b64encode(v["data"]).decode(), "dataCrc32c": v["crc32c"]}}

    def set_state(self, project: str, sid: str, ver: str, action: str) -> dict:
        with self.lock:
            v = self._version(project, sid, ver)
            if v["state"] == "DESTROYED":
                raise ApiError(400, "FAILED_PRECONDITION", f"Secret Version [{v['name']}] is in DESTROYED state.")
            self._touch(self._secret(project, sid))
            if action == "destroy":
                v["state"] = "DESTROYED"
                v["destroyTime"] = _now()
                v["data"] = b""
                v["crc32c"] = str(crc32c(b""))
            else:
                v["state"] = "ENABLED" if action == "enable" else "DISABLED"
            v["etag"] = f'"{int(time.time() * 1e6):x}"'
            return self._public_version(v)

    def seed(self, project: str, sid: str, value: str) -> None:
        """Creates (if needed) a secret and adds `value` as a new version."""
        try:
            self.create_secret(project, sid, {"replication": {"automatic": {}}})
        except ApiError as e:
            if e.status != "ALREADY_EXISTS":
                raise
        self.add_version(project, sid, {"payload": {"data": base64.b64encode(value.encode()).decode()}})


def _page(items: list, key: str, page_size: int, token: str) -> dict:
    start = int(token) if token and token.isdigit() else 0
    size = page_size if page_size > 0 else 25000
    chunk = items[start:start + size]
    out = {key: chunk} if chunk else {}
    if start + size < len(items):
        out["nextPageToken"] = str(start + size)
    out["totalSize"] = len(items)
    return out


_SECRETS = re.compile(r"^/v1/projects/([^/]+)/secrets$")
_SECRET = re.compile(r"^/v1/projects/([^/]+)/secrets/([^/:]+)(:addVersion)?$")
_VERSIONS = re.compile(r"^/v1/projects/([^/]+)/secrets/([^/:]+)/versions$")
_VERSION = re.compile(r"^/v1/projects/([^/]+)/secrets/([^/:]+)/versions/([^/:]+)(:access|:disable|:enable|:destroy)?$")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: "GcpEmulator._Server"

    def log_message(self, fmt, *args):  # quiet
        pass

    def _send(self, code: int, body: dict) -> None:
        data = json.dumps(body, indent=2).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json; charset=UTF-8")
        self.send_header("Content-Length", str(len(data)))
        end_headers_with(self, data)

    def _body(self) -> dict:
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n else b""
        if not raw:
            return {}
        try:
            obj = json.loads(raw)
        except ValueError:
            raise ApiError(400, "INVALID_ARGUMENT", "Invalid JSON payload received.")
        if not isinstance(obj, dict):
            raise ApiError(400, "INVALID_ARGUMENT", "Invalid JSON payload received. Expected an object.")
        return obj

    def _fault(self, method: str, path: str, rule: dict | None = None) -> bool:
        """Applies an injected fault (or `rule`); True when the request is answered (or dropped) by it."""
        faults = self.server.emulator.faults
        if rule is None:
            rule = faults.take("gcp", method, path) if faults is not None else None
        if not rule:
            return False
        action = str(rule.get("action", "500"))
        if action == "slow":
            time.sleep(float(rule.get("delay") or 2))
            return False
        if action == "timeout":
            time.sleep(float(rule.get("delay") or 30))
            self.close_connection = True
            return True
        if action == "reset":
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_connection = True
            return True
        code = int(action) if action.isdigit() else 500
        status = {429: "RESOURCE_EXHAUSTED", 503: "UNAVAILABLE", 500: "INTERNAL"}.get(code, "UNKNOWN")
        msg = {429: "Quota exceeded (sandbox fault injection).",
               503: "The service is currently unavailable (sandbox fault injection)."}.get(
            code, "Internal error encountered (sandbox fault injection).")
        self._send(code, ApiError(code, status, msg).body())
        return True

    def _handle(self, method: str) -> None:
        requestcount.add("gcp", self.headers.get("User-Agent"))
        url = urlparse(self.path)
        path = url.path
        q = {k: v[-1] for k, v in parse_qs(url.query).items()}
        try:
            if self._fault(method, path):
                return
            body = self._body() if method in ("POST", "PATCH") else {}
            self._auth(path)
            faults = self.server.emulator.faults
            lost = faults.take("gcp", method, path, after=True) if faults is not None else None
            answer = self._route(method, path, q, body)
            if lost is not None and self._fault(method, path, lost):
                return      # committed; the answer is lost
            self._send(200, answer)
        except ApiError as e:
            self._send(e.code, e.body())
        except (BrokenPipeError, ConnectionResetError):
            pass

    def _auth(self, path: str) -> None:
        h = self.headers.get("Authorization", "")
        token = h[7:].strip() if h.lower().startswith("bearer ") else ""
        if token == self.server.emulator.token and token:
            return
        if token == DENIED_TOKEN:
            resource = path[len("/v1/"):] if path.startswith("/v1/") else path
            raise ApiError(403, "PERMISSION_DENIED",
                           f"Permission denied on resource '{resource.split(':')[0]}' (or it may not exist).")
        raise ApiError(401, "UNAUTHENTICATED",
                       "Request had invalid authentication credentials. Expected OAuth 2 access token, "
                       "login cookie or other valid authentication credential. See "
                       "https://developers.google.com/identity/sign-in/web/devconsole-project.")

    def _route(self, method: str, path: str, q: dict, body: dict) -> dict:
        st = self.server.emulator.state
        path = path.replace("%3A", ":").replace("%3a", ":")
        psize = int(q.get("pageSize", "0") or 0) if str(q.get("pageSize", "0")).isdigit() else 0
        m = _SECRETS.match(path)
        if m:
            if method == "POST":
                return st.create_secret(unquote(m.group(1)), q.get("secretId"), body)
            if method == "GET":
                return st.list_secrets(unquote(m.group(1)), psize, q.get("pageToken", ""))
        m = _SECRET.match(path)
        if m:
            p, sid, add = unquote(m.group(1)), unquote(m.group(2)), m.group(3)
            if add and method == "POST":
                return st.add_version(p, sid, body)
            if not add and method == "GET":
                return st.get_secret(p, sid)
            if not add and method == "DELETE":
                return st.delete_secret(p, sid)
        m = _VERSIONS.match(path)
        if m and method == "GET":
            return st.list_versions(unquote(m.group(1)), unquote(m.group(2)), psize, q.get("pageToken", ""), q.get("filter", ""))
        m = _VERSION.match(path)
        if m:
            p, sid, ver, verb = unquote(m.group(1)), unquote(m.group(2)), unquote(m.group(3)), m.group(4)
            if verb is None and method == "GET":
                return st.get_version(p, sid, ver)
            if verb == ":access" and method == "GET":
                return st.access(p, sid, ver)
            if verb in (":disable", ":enable", ":destroy") and method == "POST":
                return st.set_state(p, sid, ver, verb[1:])
        if _SECRET.match(path) or _VERSION.match(path) or _SECRETS.match(path) or _VERSIONS.match(path):
            raise ApiError(404, "NOT_FOUND", f"Method {method} is not supported on {path}.")
        raise ApiError(404, "NOT_FOUND", f"The requested URL {path} was not found on this server.")

    def do_GET(self):
        self._handle("GET")

    def do_POST(self):
        self._handle("POST")

    def do_DELETE(self):
        self._handle("DELETE")

    def do_PATCH(self):
        self._handle("PATCH")


class GcpEmulator:
    """Serves SecretManagerState over HTTP on 127.0.0.1:port in a background thread."""

    class _Server(ThreadingHTTPServer):
        daemon_threads = True
        allow_reuse_address = True
        request_queue_size = 64
        emulator: "GcpEmulator"

        def finish_request(self, request, client_address):
            # An answer leaves in one write (end_headers_with), but one larger than a segment
            # still ends in a small one: without TCP_NODELAY, Nagle could hold it until the
            # client's delayed ACK (~40 ms per request on loopback).
            request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            super().finish_request(request, client_address)

    def __init__(self, token: str, faults=None, port: int = 0):
        self.token = token
        self.faults = faults
        self.state = SecretManagerState()
        self.httpd = self._Server(("127.0.0.1", port), _Handler)
        self.httpd.emulator = self
        self.port = self.httpd.server_address[1]
        self.thread: threading.Thread | None = None

    @property
    def endpoint(self) -> str:
        """Base URL to use as CLOUDSDK_API_ENDPOINT_OVERRIDES_SECRETMANAGER."""
        return f"http://127.0.0.1:{self.port}/"

    def start(self) -> None:
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.2},
                                       name="gcp-emulator", daemon=True)
        self.thread.start()

    def stop(self) -> None:
        """Stops serving and closes the socket. Idempotent."""
        if self.thread is not None:
            self.httpd.shutdown()
            self.thread.join(5)
            self.thread = None
        self.httpd.server_close()
