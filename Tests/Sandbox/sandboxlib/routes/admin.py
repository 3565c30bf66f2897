"""The sandbox's own admin endpoint (not on a real server): /sandbox/faults — POST adds a fault
rule, GET lists the active rules (`rules`) and every rule since the last clear (`history`), each
with `fired` (times it fired) and `count` (left); DELETE clears them. Admin certificate only."""

import json

from ..faults import FaultError
from .request import ADMIN, HTTPError, Request, method_not_allowed, not_found_path


def match(req: Request):
    return serve if req.path.startswith("/sandbox/") else None


def serve(req: Request):
    if req.user != ADMIN:
        raise HTTPError(403, "Forbidden", f'forbidden: User "{req.user}" cannot {req.method.lower()} path '
                                          f'"{req.path}"', {})
    if req.path != "/sandbox/faults":
        raise not_found_path()
    faults = req.api.faults
    if req.method == "POST":
        try:
            rule = json.loads(req.body or b"null")
            faults.add(rule)
        except (ValueError, FaultError) as e:
            raise HTTPError(400, "BadRequest", f"invalid fault rule: {e}")
        return req.send(201, {"rules": faults.rules()})
    if req.method == "DELETE":
        faults.clear()
        return req.send(200, {"rules": [], "history": []})
    if req.method == "GET":
        return req.send(200, {"rules": faults.rules(), "history": faults.history()})
    raise method_not_allowed()
