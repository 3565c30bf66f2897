"""HTTPS Kubernetes REST API server over the Store (see Tests/Sandbox/README.md for what differs
from a real cluster): TLS, keep-alive, authentication, injected faults and the watch fan-out. What a
request does is decided by the route families in sandboxlib/routes/."""

import json
import logging
import os
import queue
import socket
import ssl
import struct
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from . import access, protobuf, requestcount, routes
from .certs import ADMIN_CN, ADMIN_ORG, PKI
from .faults import FaultInjector
from .httpanswer import end_headers_with
from .patches import StrategicPatcher
from .routes.discovery import K8S_VERSION, served_groups, served_versions  # noqa: F401 (re-exported)
from .routes.request import ADMIN, VIEWER, HTTPError, Request, status
from .store import Store, StoreError

log = logging.getLogger("sandbox.apiserver")

# One line per answered request in daemon.log only when asked (SANDBOX_LOG_REQUESTS=1 in the
# environment of `sandbox up`): at fan-out rates the lines cost more CPU than the requests.
LOG_REQUESTS = os.environ.get("SANDBOX_LOG_REQUESTS") == "1"


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
        self.service_backend = None       # (ns, service, port index) → host port; set once controllers run
        store.subscribe(self._fan_out, shared=True)    # watches copy what they send

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

    def log_request(self, code="-", size="-"):
        if LOG_REQUESTS:
            super().log_request(code, size)

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
        end_headers_with(self, data if self.command != "HEAD" else b"")

    def _status(self, code, reason, message, details=None, headers=None):
        self._send(code, status(code, reason, message, details), headers=headers)

    def _user(self):
        """The authenticated user (rbac.UserInfo), or None."""
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

    def _apply_fault(self, method: str, path: str, rule: dict | None = None) -> bool:
        """Handle a matching "kube" fault (or `rule`); True when the request was answered by it."""
        rule = rule or self.server_api.faults.take("kube", method, path)
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
        requestcount.add("kube", self.headers.get("User-Agent"))
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
            lost = self.server_api.faults.take("kube", method, path, after=True)
            if lost is None:
                routes.route(Request(self, method, path, query, body, user))
                return
            # The request takes effect; its answer is lost and the fault answers instead.
            real = self.wfile
            self.wfile = _NullWriter()
            try:
                routes.route(Request(self, method, path, query, body, user))
            except (HTTPError, access.AccessError, StoreError):
                pass
            finally:
                self.wfile = real
            log.info("fault after commit: %s on %s %s", lost["action"], method, path)
            self._apply_fault(method, path, lost)
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
