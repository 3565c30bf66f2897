"""Self/Local/SubjectAccessReview and SelfSubjectRulesReview (`kubectl auth can-i [--list]`): POST to the
review endpoints of authorization.k8s.io/v1, answered by RBAC (sandboxlib/access.py). Its discovery
document is served through discovery.EXTRA_GROUPS."""

from .. import access
from .request import Request

GROUP, VERSION = access.REVIEW_GROUP, "v1"
RESOURCES = access.discovery_resources()


def match(req: Request):
    return serve if access.review_target(req.path) else None


def serve(req: Request):
    req.send(201, access.access_review(req.store, req.user, req.method, req.path, req.body,
                                       req.h.headers.get("Content-Type", ""), req.api.kubectl))
