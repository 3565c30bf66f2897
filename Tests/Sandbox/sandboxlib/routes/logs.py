"""The `log` subresource of Pods: the whole log, `tailLines`, `container`, and `follow=true`
(chunked, until the Pod has finished)."""

import time

from ..validation import bad_request
from .request import Request, method_not_allowed


def serve(req: Request):
    if req.method != "GET":
        raise method_not_allowed()
    pod = req.get_existing()
    text = req.store.get_log(req.namespace, req.name)
    containers = [c.get("name") for c in (pod.get("spec") or {}).get("containers") or []]
    container = req.query.get("container") or (containers[0] if containers else "")
    if req.query.get("container") and container not in containers:
        raise bad_request(f"container {container} is not valid for pod {req.name}")
    if text is None:
        phase = (pod.get("status") or {}).get("phase", "Pending")
        if phase == "Pending":
            reason = "ContainerCreating"
            for cs in (pod.get("status") or {}).get("containerStatuses") or []:
                reason = ((cs.get("state") or {}).get("waiting") or {}).get("reason") or reason
            raise bad_request(f'container "{container}" in pod "{req.name}" is waiting to start: {reason}')
        text = ""
    if req.query.get("tailLines"):
        try:
            n = int(req.query["tailLines"])
        except ValueError:
            raise bad_request("tailLines must be an integer")
        lines = text.splitlines(keepends=True)
        text = "".join(lines[-n:]) if n > 0 else ""
    if req.query.get("follow") not in ("true", "1"):
        return req.send(200, text.encode(), "text/plain")
    follow(req, text)


def follow(req: Request, text: str):
    """Stream the log: what there is, then new output every 0.25 s until the Pod has finished
    (or is gone, or 30 minutes passed)."""
    h = req.h
    h.send_response(200)
    h.send_header("Content-Type", "text/plain")
    h.send_header("Transfer-Encoding", "chunked")
    h.end_headers()
    sent = len(req.store.get_log(req.namespace, req.name) or "")

    def chunk(data: str):
        if data:
            b = data.encode()
            h.wfile.write(b"%x\r\n%s\r\n" % (len(b), b))
            h.wfile.flush()
    chunk(text)
    deadline = time.monotonic() + 1800
    while time.monotonic() < deadline:
        pod = req.store.get("Pod", req.namespace, req.name)
        current = req.store.get_log(req.namespace, req.name) or ""
        if len(current) > sent:
            chunk(current[sent:])
            sent = len(current)
        if pod is None or (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
            break
        time.sleep(0.25)
    h.wfile.write(b"0\r\n\r\n")
    h.wfile.flush()
