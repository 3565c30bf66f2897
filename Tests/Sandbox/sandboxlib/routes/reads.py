"""GET of one object, LIST (label and field selectors, Table output)."""

from .. import paging
from ..labels import SelectorError
from .request import HTTPError, Request
from .tables import table

FIELDS = {"metadata.name": ("metadata", "name"), "metadata.namespace": ("metadata", "namespace"),
          "status.phase": ("status", "phase"), "spec.nodeName": ("spec", "nodeName"), "type": ("type",)}


def parse_field_selector(text: str):
    out = []
    for term in filter(None, (t.strip() for t in text.split(","))):
        for op in ("!=", "==", "="):
            if op in term:
                k, v = term.split(op, 1)
                out.append((k.strip(), "!=" if op == "!=" else "=", v.strip()))
                break
        else:
            raise HTTPError(400, "BadRequest", f"invalid selector: '{text}'; can't understand '{term}'")
    return out


def field_value(obj: dict, path: tuple):
    cur = obj
    for p in path:
        cur = cur.get(p) if isinstance(cur, dict) else None
    return cur if cur is not None else ""


def select(req: Request, items: list) -> list:
    fs = req.query.get("fieldSelector")
    if fs:
        reqs = parse_field_selector(fs)
        for k, _op, _v in reqs:
            if k not in FIELDS:
                raise HTTPError(400, "BadRequest", f'"{k}" is not a known field selector: only '
                                                   f'"metadata.name", "metadata.namespace"')
        items = [o for o in items if all((str(field_value(o, FIELDS[k])) == v) == (op == "=")
                                         for k, op, v in reqs)]
    return items


def list_items(req: Request) -> list:
    try:
        items = req.store.list(req.t.kind, req.namespace, req.query.get("labelSelector") or None)
    except SelectorError as e:
        raise HTTPError(400, "BadRequest", f"unable to parse requirement: {e}")
    return select(req, items)


def get(req: Request):
    req.send(200, req.out(req.get_existing()))


def list_(req: Request):
    served, more = paging.page(req.query, list_items(req))
    items = [req.out(o) for o in served]
    rv = req.store.resource_version()
    if "as=Table" in (req.h.headers.get("Accept") or ""):
        return req.send(200, table(req.t.kind, items, rv))
    if req.t.builtin:
        for o in items:
            o.pop("apiVersion", None)
            o.pop("kind", None)
    req.send(200, {"kind": f"{req.t.kind}List", "apiVersion": req.t.api_version(req.version),
                   "metadata": {"resourceVersion": rv, **more}, "items": items})
