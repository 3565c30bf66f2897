"""LIST pagination as the API server does it: `limit` caps a page, `metadata.continue` names the
next one (an opaque token; here base64 JSON of the last key served), `remainingItemCount` says
how many are left. A token that does not decode is refused with 400, as a real one would be."""

import base64
import json

from .routes.request import HTTPError


def _key(o: dict) -> list:
    m = o.get("metadata", {})
    return [m.get("namespace", ""), m.get("name", "")]


def page(query: dict, items: list) -> tuple[list, dict]:
    """The page of `items` the query asks for, and the list metadata to add (continue, remaining)."""
    limit_text = query.get("limit")
    token = query.get("continue")
    if not limit_text and not token:
        return items, {}
    items = sorted(items, key=_key)
    if token:
        try:
            after = json.loads(base64.urlsafe_b64decode(token.encode()).decode())["after"]
        except (ValueError, KeyError, TypeError):
            raise HTTPError(400, "BadRequest", "continue key is not valid: the token does not decode")
        items = [o for o in items if _key(o) > after]
    try:
        limit = int(limit_text) if limit_text else 0
    except ValueError:
        raise HTTPError(400, "BadRequest", f"invalid limit: '{limit_text}'")
    if limit <= 0 or len(items) <= limit:
        return items, {}
    served, rest = items[:limit], items[limit:]
    nxt = base64.urlsafe_b64encode(json.dumps({"after": _key(served[-1])}).encode()).decode()
    return served, {"continue": nxt, "remainingItemCount": len(rest)}
