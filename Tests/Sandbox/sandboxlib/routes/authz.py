"""Authorization hooks of the routes; the decision is RBAC's (sandboxlib/access.py, rbac.py), and on
writes of RBAC objects escalation prevention's (sandboxlib/escalation.py)."""

from .. import access, escalation
from ..rbac import RBAC_GROUP
from .request import Request


def authorize(req: Request):
    """403 Forbidden with the real server's message unless the user may do the resource request."""
    access.check(req.store, req.user, access.Attributes(
        verb=req.verb(), group=req.t.group, resource=req.t.plural, subresource=req.sub or "",
        namespace=req.namespace or "", name=req.name or ""))


def _is_resource_path(p: str) -> bool:
    """True for /api/V/… and /apis/G/V/… (RBAC resource requests); discovery, /version, /openapi
    and the like are non-resource URLs."""
    parts = p.strip("/").split("/")
    return (parts[0] == "api" and len(parts) >= 3) or (parts[0] == "apis" and len(parts) >= 4)


def non_resource_gate(req: Request):
    """A gate in FAMILIES, not a family: 403 for a non-resource URL (discovery, /version, …) that
    RBAC's nonResourceURLs rules do not grant; else None (routing goes on)."""
    if not req.user.admin and not _is_resource_path(req.path):
        access.check_path(req.store, req.user, req.method, req.path)
    return None


def check_rbac_write(req: Request, new: dict, old: dict | None = None):
    """403 Forbidden when a write of a Role, ClusterRole or binding would grant more than the user
    holds (escalation prevention, sandboxlib/escalation.py); `old` is None on a create. Called by
    the writes before validation, as the real RBAC storage checks before it validates."""
    if req.t.group != RBAC_GROUP:
        return
    try:
        escalation.check_write(req.store, req.user, req.t.kind, req.namespace or "", req.name, new, old)
    except escalation.EscalationError as e:
        raise access.AccessError(403, "Forbidden", e.message, e.details)
