"""The `proxy` subresource of Services (`/api/v1/namespaces/NS/services/[SCHEME:]NAME[:PORT]/proxy/…`):
forwarded by sandboxlib/service_proxy.py to a ready backend Pod."""

from .. import service_proxy
from .request import HTTPError, Request


def serve(req: Request):
    try:
        code, headers, data = service_proxy.forward(req.store, req.api.service_backend, req.method, req.h.path,
                                                    req.h.headers, req.body)
    except service_proxy.ProxyError as e:
        raise HTTPError(e.code, e.reason, e.message, e.details)
    ctype = next((v for k, v in headers if k.lower() == "content-type"), "application/octet-stream")
    req.send(code, data, ctype, {k: v for k, v in headers if k.lower() not in ("content-type", "date", "server")})
