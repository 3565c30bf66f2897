"""Authorization of resource requests: the admin may do everything, the viewer may read. The one
place that decides; `allowed` is also what SelfSubjectAccessReview answers with."""

from .request import ADMIN, HTTPError, Request


def allowed(user: str, verb: str) -> bool:
    return user == ADMIN or verb in ("get", "list", "watch")


def authorize(req: Request):
    """403 Forbidden with the real server's message when the user may not do the request's verb."""
    verb = req.verb()
    if allowed(req.user, verb):
        return
    t = req.t
    res = t.plural + (f"/{req.sub}" if req.sub else "")
    who = f'{res} "{req.name}"' if req.name else res
    if t.group:
        who = f'{t.plural}.{t.group}' + (f' "{req.name}"' if req.name else "")
    scope = f'in the namespace "{req.namespace}"' if req.namespace else "at the cluster scope"
    details = {"kind": t.plural}
    if req.name:
        details["name"] = req.name
    if t.group:
        details["group"] = t.group
    raise HTTPError(403, "Forbidden", f'{who} is forbidden: User "{req.user}" cannot {verb} resource "{res}" '
                                      f'in API group "{t.group}" {scope}', details)
