"""The `scale` subresource of Deployments and StatefulSets (autoscaling/v1 Scale): GET, PUT, PATCH."""

from ..patches import PatchError, json_patch, merge_patch
from ..store import StoreError
from ..validation import bad_request
from .request import HTTPError, Request, method_not_allowed


def scale_of(obj: dict) -> dict:
    md = obj["metadata"]
    sel = ((obj.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
    return {"kind": "Scale", "apiVersion": "autoscaling/v1",
            "metadata": {k: md[k] for k in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp")
                         if k in md},
            "spec": {"replicas": (obj.get("spec") or {}).get("replicas", 1)},
            "status": {"replicas": (obj.get("status") or {}).get("replicas", 0),
                       "selector": ",".join(f"{k}={v}" for k, v in sorted(sel.items()))}}


def serve(req: Request):
    if req.method not in ("GET", "PUT", "PATCH"):
        raise method_not_allowed()
    for attempt in range(5):
        current = req.get_existing()
        sc = scale_of(current)
        if req.method == "GET":
            return req.send(200, sc)
        if req.method == "PUT":
            new = req.decode()
            if not isinstance(new, dict):
                raise bad_request("the object provided is unrecognized (must be of type Scale)")
        else:
            ctype = req.h.headers.get("Content-Type", "").split(";")[0].strip()
            try:
                if ctype in ("application/merge-patch+json", "application/strategic-merge-patch+json"):
                    new = merge_patch(sc, req.decode())
                elif ctype == "application/json-patch+json":
                    new = json_patch(sc, req.decode())
                else:
                    raise HTTPError(415, "UnsupportedMediaType", "the body of the request was in an unknown "
                                    "format - accepted media types include: application/json-patch+json, "
                                    "application/merge-patch+json, application/strategic-merge-patch+json", {})
            except PatchError as e:
                raise HTTPError(422, "Invalid", "the server rejected our request due to an error in our request",
                                {"causes": [{"reason": "FieldValueInvalid", "message": e.message}]})
        replicas = (new.get("spec") or {}).get("replicas")
        if not isinstance(replicas, int) or replicas < 0:
            raise StoreError(422, "Invalid", f'Scale.autoscaling "{req.name}" is invalid: spec.replicas: Invalid '
                                             f'value: {replicas}: must be greater than or equal to 0',
                             {"name": req.name, "group": "autoscaling", "kind": "Scale", "causes": [
                                 {"reason": "FieldValueInvalid", "field": "spec.replicas",
                                  "message": f"Invalid value: {replicas}: must be greater than or equal to 0"}]})
        current["spec"]["replicas"] = replicas
        rv = (new.get("metadata") or {}).get("resourceVersion")
        current["metadata"]["resourceVersion"] = rv or current["metadata"]["resourceVersion"]
        try:
            updated = req.store.update(current, dry_run=req.dry_run)
        except StoreError as e:
            if e.code == 409 and not rv and attempt < 4:
                continue
            raise
        return req.send(200, scale_of(updated))
