"""watch=true: chunked JSON events. With a resourceVersion, the changes after it (from the API
server's history of the last events; older → ERROR 410 Expired); without, ADDED for the current
objects first, then live changes."""

import json
import queue
import time

from ..labels import LabelSelector
from ..store import clone
from ..validation import bad_request
from .reads import FIELDS, field_value, list_items, parse_field_selector
from .request import HTTPError, Request, status


def serve(req: Request):
    rv_param = req.query.get("resourceVersion")
    since = None
    if rv_param not in (None, "", "0"):
        if not rv_param.isdigit():
            raise bad_request(f'invalid resource version "{rv_param}"')
        since = int(rv_param)
    sel = LabelSelector.parse(req.query["labelSelector"]) if req.query.get("labelSelector") else None
    fs = parse_field_selector(req.query["fieldSelector"]) if req.query.get("fieldSelector") else []
    try:
        q = req.api.add_watcher(since)
        expired = None
    except ValueError as e:
        q, expired = None, str(e)
    h = req.h
    try:
        h.send_response(200)
        h.send_header("Content-Type", "application/json")
        h.send_header("Transfer-Encoding", "chunked")
        h.end_headers()

        def emit(event, obj):
            data = (json.dumps({"type": event, "object": obj}) + "\n").encode()
            h.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            h.wfile.flush()

        if expired:
            emit("ERROR", status(410, "Expired", expired))
            h.wfile.write(b"0\r\n\r\n")
            return
        if since is None:
            for o in list_items(req):
                if not req.name or o["metadata"]["name"] == req.name:
                    emit("ADDED", req.out(o))
        deadline = time.monotonic() + float(req.query.get("timeoutSeconds") or 1800)
        while time.monotonic() < deadline:
            try:
                ev = q.get(timeout=min(5.0, max(deadline - time.monotonic(), 0.01)))
            except queue.Empty:
                continue
            if ev is None:
                break
            _rv, event, obj = ev
            md = obj.get("metadata", {})
            if obj.get("kind") != req.t.kind or (req.namespace and md.get("namespace") != req.namespace):
                continue
            if req.name and md.get("name") != req.name:
                continue
            if sel and not sel.matches(md.get("labels") or {}):
                continue
            if fs and not all((str(field_value(obj, FIELDS.get(k, (k,)))) == v) == (op == "=")
                              for k, op, v in fs):
                continue
            try:
                out = req.out(clone(obj))     # obj is shared with the other watchers
            except HTTPError as e:      # e.g. a conversion webhook that is gone: the watch ends with the error
                emit("ERROR", status(e.code, e.reason, e.message))
                break
            emit(event, out)
        h.wfile.write(b"0\r\n\r\n")
        h.wfile.flush()
    finally:
        if q is not None:
            req.api.remove_watcher(q)
