"""The API server's service proxy: `/api/v1/namespaces/NS/services/[SCHEME:]NAME[:PORT]/proxy/PATH`
forwards the request (method, headers but Authorization, body, query) over HTTP to a ready backend
Pod of the Service and answers with the backend's status, headers and body. PORT is the Service
port's name or number (default: the first port). Errors as the real server words them: a missing
Service is 404 `services "x" not found`, no ready backend is 503 `no endpoints available for
service "x"`, a backend that refuses is 503 `error trying to reach service: ...`."""
import http.client
import re
import urllib.parse

PATH = re.compile(r"^/api/v1/namespaces/([^/]+)/services/([^/]+)/proxy(/.*)?$")
_HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer", "upgrade",
        "content-length", "host", "authorization"}
TIMEOUT = 30.0


class ProxyError(Exception):
    """An answer of the proxy itself (code, reason, message, details)."""

    def __init__(self, code: int, reason: str, message: str, details: dict | None = None):
        super().__init__(message)
        self.code, self.reason, self.message, self.details = code, reason, message, details or {}


def match(path: str):
    """(namespace, name-part, rest path) when `path` (without query) is a service proxy URL, else None."""
    m = PATH.match(path)
    if m is None:
        return None
    return m.group(1), urllib.parse.unquote(m.group(2)), m.group(3) or "/"


def split_name(part: str) -> tuple[str, str, str]:
    """`[scheme:]name[:port]` → (scheme, name, port)."""
    bits = part.split(":")
    if len(bits) == 3:
        return bits[0], bits[1], bits[2]
    if len(bits) == 2:
        return (bits[0], bits[1], "") if bits[0] in ("http", "https") else ("", bits[0], bits[1])
    return "", part, ""


def port_index(svc: dict, port: str, name: str) -> int:
    """Index of the Service port named or numbered `port` (empty: the first one)."""
    ports = (svc.get("spec") or {}).get("ports") or []
    if not ports:
        raise ProxyError(503, "ServiceUnavailable", f'no endpoints available for service "{name}"')
    if not port:
        return 0
    for i, p in enumerate(ports):
        if p.get("name") == port or str(p.get("port")) == port:
            return i
    raise ProxyError(503, "ServiceUnavailable", f'no endpoints available for service "{name}:{port}"')


def forward(store, backend, method: str, raw_path: str, headers, body: bytes):
    """Runs one proxied request. `backend(ns, name, index)` gives a ready backend's host port or
    None. Returns (status, [(header, value)], body); raises ProxyError."""
    url = urllib.parse.urlsplit(raw_path)
    m = match(url.path)
    ns, part, rest = m
    scheme, name, port = split_name(part)
    if scheme == "https":
        raise ProxyError(503, "ServiceUnavailable", "error trying to reach service: the sandbox proxies plain HTTP only")
    svc = store.get("Service", ns, name)
    if svc is None:
        raise ProxyError(404, "NotFound", f'services "{name}" not found', {"name": name, "kind": "services"})
    index = port_index(svc, port, name)
    host_port = backend(ns, name, index) if backend is not None else None
    if host_port is None:
        raise ProxyError(503, "ServiceUnavailable", f'no endpoints available for service "{name}"')
    target = rest + (f"?{url.query}" if url.query else "")
    out = {k: v for k, v in headers.items() if k.lower() not in _HOP}
    out["X-Forwarded-Uri"] = url.path
    conn = http.client.HTTPConnection("127.0.0.1", host_port, timeout=TIMEOUT)
    try:
        conn.request(method, target, body=body or None, headers=out)
        resp = conn.getresponse()
        data = resp.read()
        hdrs = [(k, v) for k, v in resp.getheaders() if k.lower() not in _HOP]
        return resp.status, hdrs, data
    except OSError as e:
        raise ProxyError(503, "ServiceUnavailable", f"error trying to reach service: {e}")
    finally:
        conn.close()
