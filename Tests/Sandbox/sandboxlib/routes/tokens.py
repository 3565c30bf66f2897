"""The `token` subresource of ServiceAccounts (TokenRequest, `kubectl create token`): POST only,
answered by the API server's TokenIssuer (sandboxlib/serviceaccounts.py)."""

from .request import Request, method_not_allowed


def serve(req: Request):
    if req.method != "POST":
        raise method_not_allowed()
    review = req.decode(req.h.headers.get("Content-Type", "application/json")) if req.body else {}
    req.send(201, req.api.tokens.token_request(req.store, req.namespace, req.name, review))
