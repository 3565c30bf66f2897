"""Authentication and authorization of API requests (the API server's hooks call these):
client certificate → the admin (group system:masters), bearer token → the `viewer` user or a
ServiceAccount; RBAC decides (sandboxlib/rbac.py). Also the review endpoints
(SelfSubjectAccessReview, SelfSubjectRulesReview, SubjectAccessReview, LocalSubjectAccessReview)."""

import hmac
import json

from . import protobuf, rbac
from .rbac import Attributes, UserInfo

REVIEW_GROUP = "authorization.k8s.io"
REVIEW_KINDS = {"selfsubjectaccessreviews": "SelfSubjectAccessReview",
                "selfsubjectrulesreviews": "SelfSubjectRulesReview",
                "subjectaccessreviews": "SubjectAccessReview",
                "localsubjectaccessreviews": "LocalSubjectAccessReview"}


class AccessError(Exception):
    """An answer to send instead of serving the request (code, reason, message, details)."""

    def __init__(self, code: int, reason: str, message: str, details: dict | None = None):
        super().__init__(message)
        self.code, self.reason, self.message, self.details = code, reason, message, details


def authenticate(handler, admin_cn: str, admin_org: str, admin_name: str, viewer_name: str) -> UserInfo | None:
    """The user of a request, or None (401)."""
    cert = handler.connection.getpeercert() if hasattr(handler.connection, "getpeercert") else None
    if cert:
        subject = {}
        for rdn in cert.get("subject", ()):
            for k, v in rdn:
                subject.setdefault(k, v)
        if subject.get("commonName") == admin_cn and subject.get("organizationName") == admin_org:
            return UserInfo(admin_name, (admin_org,))
    auth = handler.headers.get("Authorization", "")
    if not auth.startswith("Bearer "):
        return None
    token = auth[7:].strip()
    api = handler.server_api
    if hmac.compare_digest(token.encode(), api.pki.viewer_token.encode()):
        return UserInfo(viewer_name)
    issuer = getattr(api, "tokens", None)
    return issuer.authenticate(token, api.store) if issuer is not None else None


def discovery_resources() -> list:
    """authorization.k8s.io/v1 resources for discovery."""
    return [{"name": "localsubjectaccessreviews", "singularName": "localsubjectaccessreview", "namespaced": True,
             "kind": "LocalSubjectAccessReview", "verbs": ["create"]},
            {"name": "selfsubjectaccessreviews", "singularName": "selfsubjectaccessreview", "namespaced": False,
             "kind": "SelfSubjectAccessReview", "verbs": ["create"]},
            {"name": "selfsubjectrulesreviews", "singularName": "selfsubjectrulesreview", "namespaced": False,
             "kind": "SelfSubjectRulesReview", "verbs": ["create"]},
            {"name": "subjectaccessreviews", "singularName": "subjectaccessreview", "namespaced": False,
             "kind": "SubjectAccessReview", "verbs": ["create"]}]


def review_target(path: str):
    """(resource plural, namespace) when `path` is an access-review endpoint, else None."""
    parts = path.strip("/").split("/")
    if parts[:3] != ["apis", REVIEW_GROUP, "v1"]:
        return None
    rest = parts[3:]
    if len(rest) == 1 and rest[0] in ("selfsubjectaccessreviews", "selfsubjectrulesreviews", "subjectaccessreviews"):
        return rest[0], ""
    if len(rest) == 3 and rest[0] == "namespaces" and rest[2] == "localsubjectaccessreviews":
        return rest[2], rest[1]
    return None


def check(store, user: UserInfo, a: Attributes, plural_group: str | None = None):
    """Raises AccessError 403 Forbidden (the real message and details) unless RBAC allows `a`."""
    d = rbac.authorize(store, user, a)
    if d.allowed:
        return
    msg = rbac.forbidden_message(str(user), a, plural_group)
    if d.reason:
        msg += ": " + d.reason
    raise AccessError(403, "Forbidden", msg, rbac.forbidden_details(a) if a.resource_request else {})


def check_path(store, user: UserInfo, method: str, path: str):
    """A non-resource request (discovery, /version, /openapi…): allowed by nonResourceURLs rules."""
    verb = {"GET": "get", "HEAD": "get", "POST": "post", "PUT": "put", "PATCH": "patch", "DELETE": "delete"}.get(method, "get")
    check(store, user, Attributes(verb=verb, path=path, resource_request=False))


def rules_review(store, user: UserInfo, body: bytes, content_type: str, kubectl: str) -> dict:
    """The answer to a SelfSubjectRulesReview (`kubectl auth can-i --list -n NS`): the rules RBAC
    grants the requesting user in spec.namespace; the real server answers with an empty spec."""
    try:
        review = protobuf.decode(body, kubectl) if content_type.startswith(protobuf.CONTENT_TYPE) else json.loads(body or b"null")
        namespace = (review.get("spec") or {}).get("namespace") or ""
    except (ValueError, TypeError, AttributeError, protobuf.ProtobufError):
        raise AccessError(400, "BadRequest", "the body is not a SelfSubjectRulesReview")
    if not isinstance(namespace, str) or not namespace:
        raise AccessError(400, "BadRequest", "no namespace on request")
    return {"kind": "SelfSubjectRulesReview", "apiVersion": f"{REVIEW_GROUP}/v1",
            "metadata": {"creationTimestamp": None}, "spec": {},
            "status": rbac.rules_review_status(store, user, namespace)}


def access_review(store, user: UserInfo, method: str, path: str, body: bytes, content_type: str, kubectl: str) -> dict:
    """The answer (status 201 body) to a POST of a (Self|Local)SubjectAccessReview."""
    plural, ns = review_target(path)
    kind = REVIEW_KINDS[plural]
    if method != "POST":
        raise AccessError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource", {})
    check(store, user, Attributes(verb="create", group=REVIEW_GROUP, resource=plural, namespace=ns))
    if plural == "selfsubjectrulesreviews":
        return rules_review(store, user, body, content_type, kubectl)
    try:
        review = protobuf.decode(body, kubectl) if content_type.startswith(protobuf.CONTENT_TYPE) else json.loads(body or b"null")
        spec = review["spec"]
        a = rbac.attributes_of_review(spec)
    except (ValueError, KeyError, TypeError, AttributeError, protobuf.ProtobufError):
        raise AccessError(400, "BadRequest", f"the body is not a {kind} with spec.resourceAttributes or "
                                             f"spec.nonResourceAttributes")
    if plural == "selfsubjectaccessreviews":
        subject = user
    else:
        if not spec.get("user") and not spec.get("groups"):
            raise AccessError(422, "Invalid", f'{kind}.authorization.k8s.io "" is invalid: spec.user: Invalid value: '
                                              f'"": at least one of user or group must be specified',
                              {"group": REVIEW_GROUP, "kind": kind})
        subject = UserInfo(spec.get("user") or "", spec.get("groups") or ())
        if plural == "localsubjectaccessreviews":
            if a.resource_request and a.namespace and a.namespace != ns:
                raise AccessError(422, "Invalid", f'{kind}.authorization.k8s.io "" is invalid: spec.resourceAttributes.'
                                                  f'namespace: Invalid value: "{a.namespace}": must match metadata.'
                                                  f'namespace', {"group": REVIEW_GROUP, "kind": kind})
            a.namespace = ns
    review["apiVersion"] = f"{REVIEW_GROUP}/v1"
    review["kind"] = kind
    review.setdefault("metadata", {})["creationTimestamp"] = None
    review["status"] = rbac.review_status(store, subject, a)
    return review
