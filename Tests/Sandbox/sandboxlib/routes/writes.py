"""Writes on the main resource and `status`: POST (create), PUT (replace), PATCH (strategic, merge,
JSON, server-side apply), DELETE and deletecollection; field validation, immutable fields, dryRun."""

import datetime
import json
import random

from .. import defaults, fieldcheck
from ..patches import PatchError, apply_owned, field_paths, json_patch, merge_patch
from ..store import StoreError, clone, not_found
from ..validation import bad_request, validate, validate_update
from .authz import check_rbac_write
from .reads import list_items
from .request import HTTPError, Request

_GENERATE_CHARS = "bcdfghjklmnpqrstvwxz2456789"
_RETURNS_OBJECT = {"Pod", "Service", "Namespace"}   # plus every custom resource


def create(req: Request):
    obj = req.decode(req.h.headers.get("Content-Type", "application/json"))
    req.check_body(obj, for_update=False)
    check_fields(req, obj)
    return create_checked(req, obj)


def create_checked(req: Request, obj: dict):
    check_rbac_write(req, obj)
    md = obj["metadata"]
    if not md.get("name") and md.get("generateName"):
        md["name"] = md["generateName"] + "".join(random.choice(_GENERATE_CHARS) for _ in range(5))
    for k in ("uid", "resourceVersion", "creationTimestamp", "generation", "deletionTimestamp", "managedFields"):
        md.pop(k, None)
    if req.t.has_status:
        obj.pop("status", None)
    validate(req.t, obj)
    req.ns_exists()
    created = req.store.create(req.stored(obj), dry_run=req.dry_run)
    req.send(201, req.out(created))
    return created


def replace(req: Request, status_only: bool):
    obj = req.decode(req.h.headers.get("Content-Type", "application/json"))
    req.check_body(obj, for_update=True)
    check_fields(req, obj)
    req.ns_exists()
    if status_only:
        req.get_existing()
        return req.send(200, req.out(req.store.update_status(req.stored(obj), dry_run=req.dry_run)))
    current = req.get_existing()
    t = req.t
    if not t.builtin and not obj["metadata"].get("resourceVersion"):
        raise StoreError(422, "Invalid", f'{t.kind}.{t.group} "{req.name}" is invalid: '
                                         f'metadata.resourceVersion: Invalid value: 0x0: must be specified for an update',
                         {"name": req.name, "group": t.group, "kind": t.kind, "causes": [
                             {"reason": "FieldValueInvalid", "message": "Invalid value: 0x0: must be specified "
                              "for an update", "field": "metadata.resourceVersion"}]})
    check_rbac_write(req, obj, current)
    validate(t, obj)
    immutable(req, current, obj)
    req.send(200, req.out(req.store.update(req.stored(obj), dry_run=req.dry_run)))


def check_fields(req: Request, obj: dict, apply: bool = False):
    """fieldValidation: Strict → 400 on unknown fields, Warn (default) → Warning headers, Ignore."""
    mode = req.query.get("fieldValidation") or "Warn"
    if mode not in ("Strict", "Warn", "Ignore"):
        raise bad_request(f'fieldValidation must be "Ignore", "Warn" or "Strict", not "{mode}"')
    if mode == "Ignore" and not apply:
        return
    t = req.t
    unknown = fieldcheck.unknown_fields(t, req.version, obj, req.api.kubectl)
    if not unknown:
        return
    if apply:
        md = obj.get("metadata") or {}
        where = f'{md.get("namespace")}/{md.get("name")}' if md.get("namespace") else md.get("name")
        raise bad_request(f"failed to create typed patch object ({where}; {t.api_version(req.version)}, "
                          f"Kind={t.kind}): " + ", ".join(f".{u}: field not declared in schema"
                                                          for u in unknown))
    if mode == "Strict":
        raise bad_request(f'{t.kind} in version "{req.version}" cannot be handled as a {t.kind}: '
                          f'strict decoding error: ' + ", ".join(f'unknown field "{u}"' for u in unknown))
    req.h.warnings = [f'unknown field "{u}"' for u in unknown]


def immutable(req: Request, current: dict, new: dict):
    """Reject changes of immutable fields (compared after defaulting, as the real server does)."""
    candidate = clone(new)
    candidate["metadata"]["uid"] = current["metadata"].get("uid")
    defaults.apply(candidate)
    validate_update(req.t, current, candidate)


def _unsupported_patch(builtin: bool) -> HTTPError:
    return HTTPError(415, "UnsupportedMediaType",
                     "the body of the request was in an unknown format - accepted media types include: "
                     "application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml"
                     + (", application/strategic-merge-patch+json" if builtin else ""), {})


def _apply_patch(req: Request, current: dict, ctype: str) -> dict:
    ctype = ctype.split(";")[0].strip()
    if ctype == "application/strategic-merge-patch+json":
        if not req.t.builtin:
            raise _unsupported_patch(False)
        return req.api.patcher.patch(current, req.decode())
    if ctype == "application/merge-patch+json":
        p = req.decode()
        if not isinstance(p, dict):
            raise bad_request("json: cannot unmarshal into Go value of type map[string]interface {}")
        return merge_patch(current, p)
    if ctype == "application/json-patch+json":
        return json_patch(current, req.decode())
    if ctype == "application/apply-patch+yaml":
        applied = req.decode("yaml")
        if not isinstance(applied, dict):
            raise bad_request("apply patch must be a YAML or JSON object")
        owners = req.api.owners_of(current["metadata"].get("uid"))
        manager = req.query.get("fieldManager", "")
        others = set().union(*[f for m, f in owners.items() if m != manager])
        result, req.applied_fields = apply_owned(current, applied, owners.get(manager, set()), others)
        return result
    raise _unsupported_patch(req.t.builtin)


def patch(req: Request, status_only: bool):
    ctype = req.h.headers.get("Content-Type", "")
    is_apply = ctype.startswith("application/apply-patch+yaml")
    if is_apply and not req.query.get("fieldManager"):
        raise HTTPError(400, "BadRequest", "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required "
                                           "value: is required for apply patch")
    req.ns_exists()
    for attempt in range(5):
        current = req.store.get(req.t.kind, req.namespace, req.name)
        if current is None:
            if not is_apply or status_only:
                raise not_found(req.t.kind, req.name)
            obj = req.decode("yaml")
            req.check_body(obj, for_update=True)
            check_fields(req, obj, apply=True)
            fields = field_paths(obj)
            created = create_checked(req, obj)
            if not req.dry_run:
                req.api.set_owner(created["metadata"]["uid"], req.query["fieldManager"], fields)
            return created
        req.out(current)
        try:
            patched = _apply_patch(req, clone(current), ctype)
        except PatchError as e:
            if e.code == 400:
                raise HTTPError(400, "BadRequest", e.message)
            raise HTTPError(422, "Invalid", "the server rejected our request due to an error in our request",
                            {"causes": [{"reason": "FieldValueInvalid", "message": e.message}]})
        if not isinstance(patched, dict):
            raise bad_request("the patched object is not an object")
        pmd = patched.setdefault("metadata", {})
        if pmd.get("name") != req.name:
            raise bad_request(f'the name of the object ({pmd.get("name")}) does not match the name on the URL '
                              f'({req.name})')
        req.check_body(patched, for_update=True)
        if is_apply:
            check_fields(req, req.decode("yaml"), apply=True)
        else:
            check_fields(req, patched)
        pinned = pmd.get("resourceVersion") != current["metadata"]["resourceVersion"]
        try:
            if status_only:
                return req.send(200, req.out(req.store.update_status(req.stored(patched), dry_run=req.dry_run)))
            check_rbac_write(req, patched, current)
            validate(req.t, patched)
            immutable(req, current, patched)
            updated = req.store.update(req.stored(patched), dry_run=req.dry_run)
            if is_apply and not req.dry_run:
                req.api.set_owner(updated["metadata"]["uid"], req.query["fieldManager"], req.applied_fields)
            return req.send(200, req.out(updated))
        except StoreError as e:
            if e.code != 409 or pinned or attempt == 4:
                raise


def delete(req: Request):
    opts = {}
    if req.body:
        try:
            opts = json.loads(req.body) or {}
        except ValueError:
            raise bad_request("DeleteOptions could not be decoded")
    dry = req.dry_run or "All" in (opts.get("dryRun") or [])
    prop = req.query.get("propagationPolicy") or opts.get("propagationPolicy") or "Background"
    if prop not in ("Background", "Foreground", "Orphan"):
        raise HTTPError(422, "Invalid", f'DeleteOptions.meta.k8s.io "" is invalid: propagationPolicy: Unsupported '
                                        f'value: "{prop}": supported values: "Foreground", "Background", "Orphan", "nil"')
    t = req.t
    if t.kind == "Namespace" and req.name in ("default", "kube-system", "kube-public"):
        raise HTTPError(403, "Forbidden", f'namespaces "{req.name}" is forbidden: this namespace may not be deleted',
                        {"name": req.name, "kind": "namespaces"})
    pre = opts.get("preconditions") or {}
    if req.store.get(t.kind, req.namespace, req.name) is not None:
        req.out(req.get_existing())     # the server reads (decodes, converts) the object before deleting it
    old = req.store.delete(t.kind, req.namespace, req.name, propagation=prop, dry_run=dry,
                           uid=pre.get("uid"), resource_version=pre.get("resourceVersion"))
    if old is None:
        raise not_found(t.kind, req.name)
    req.out(old)
    if t.kind in _RETURNS_OBJECT or not t.builtin or prop in ("Foreground", "Orphan"):
        old["metadata"]["deletionTimestamp"] = old["metadata"].get("deletionTimestamp") or \
            datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        if t.kind == "Namespace":
            old.setdefault("status", {})["phase"] = "Terminating"
        return req.send(200, old)
    details = {"name": req.name, "kind": t.plural, "uid": old["metadata"].get("uid")}
    if t.group:
        details["group"] = t.group
    req.send(200, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
                   "details": details})


def delete_collection(req: Request):
    out = []
    for o in list_items(req):
        old = req.store.delete(req.t.kind, o["metadata"].get("namespace"), o["metadata"]["name"],
                               dry_run=req.dry_run)
        if old is not None:
            out.append(req.out(old))
    req.send(200, {"kind": f"{req.t.kind}List", "apiVersion": req.t.api_version(req.version),
                   "metadata": {"resourceVersion": req.store.resource_version()}, "items": out})
