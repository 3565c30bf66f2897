"""SelfSubjectAccessReview (`kubectl auth can-i`): POST /apis/authorization.k8s.io/v1/
selfsubjectaccessreviews, answered with `authz.allowed`. Its discovery document is served through
discovery.EXTRA_GROUPS."""

import json

from .. import protobuf
from . import authz
from .request import ADMIN, HTTPError, Request, method_not_allowed

PATH = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"
GROUP, VERSION = "authorization.k8s.io", "v1"
RESOURCES = [{"name": "selfsubjectaccessreviews", "singularName": "selfsubjectaccessreview", "namespaced": False,
              "kind": "SelfSubjectAccessReview", "verbs": ["create"]}]


def match(req: Request):
    return serve if req.path == PATH else None


def serve(req: Request):
    if req.method != "POST":
        raise method_not_allowed()
    try:
        if req.h.headers.get("Content-Type", "").startswith(protobuf.CONTENT_TYPE):
            review = protobuf.decode(req.body, req.api.kubectl)
        else:
            review = json.loads(req.body or b"null")
        attrs = review["spec"].get("resourceAttributes")
        if attrs is None and review["spec"].get("nonResourceAttributes") is None:
            raise KeyError("resourceAttributes")
    except (ValueError, KeyError, TypeError, AttributeError, protobuf.ProtobufError):
        raise HTTPError(400, "BadRequest", "the body is not a SelfSubjectAccessReview with spec.resourceAttributes "
                                          "or spec.nonResourceAttributes")
    verb = (attrs or review["spec"]["nonResourceAttributes"]).get("verb", "")
    allowed = authz.allowed(req.user, verb)
    review["status"] = {"allowed": allowed}
    if allowed:
        review["status"]["reason"] = "the sandbox grants " + ("everything to the admin" if req.user == ADMIN
                                                              else "read access to viewer")
    review.setdefault("metadata", {})["creationTimestamp"] = None
    req.send(201, review)
