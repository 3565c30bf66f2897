"""The API server's routing table. A request goes to the first family in `FAMILIES` whose
`match(req)` returns a handler; resource requests (/api/V/…, /apis/G/V/…) go to `resource`, which
runs the verbs itself and hands subresources to `resource.SUBRESOURCES`.

Adding a family = one module with `match(req) -> handler | None` + one line in FAMILIES (before
`resource.match` if its paths look like resource paths). Adding a subresource = one module with
`serve(req)` + one line in SUBRESOURCES (and the name in the type's `subresources` in resources.py).
A group that is not stored resources gets its discovery document through `discovery.EXTRA_GROUPS`."""

from . import access_review, admin, authz, discovery, logs, proxy, resource, scale, tokens
from .request import HTTPError, Request, not_found_path

FAMILIES = [
    admin.match,            # /sandbox/faults
    access_review.match,    # Self/Local/SubjectAccessReview
    authz.non_resource_gate,  # not a family: 403 for non-resource URLs RBAC does not grant
    discovery.match,        # /version, /healthz, /api, /apis, /apis/G[/V], /openapi/v3
    resource.match,         # everything on the served types (verbs, watch, subresources)
]

resource.SUBRESOURCES.update({
    "log": logs.serve,
    "scale": scale.serve,
    "token": tokens.serve,
    "proxy": proxy.serve,
})
resource.OPEN_ENDED.add("proxy")

discovery.EXTRA_GROUPS[access_review.GROUP] = {access_review.VERSION: access_review.RESOURCES}


def route(req: Request):
    for match in FAMILIES:
        handler = match(req)
        if handler is not None:
            return handler(req)
    raise not_found_path()


__all__ = ["FAMILIES", "HTTPError", "Request", "route"]
