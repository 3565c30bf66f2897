"""Custom resource versions as the real API server converts them (apiextensions-apiserver).

The store keeps each custom resource in the version it was written in (its `apiVersion`), as etcd
does. Reading it in another version, or writing it in a version other than the CRD's storage
version, needs a conversion:

- `spec.conversion.strategy: None` (or no conversion block): only `apiVersion` is relabelled;
- `strategy: Webhook`: the API server would POST a ConversionReview to the webhook Service. The
  sandbox runs no conversion webhooks, so such a conversion fails the way the real server fails when
  the webhook cannot be reached: `conversion webhook for GROUP/VERSION, Kind=KIND failed: Post
  "https://SVC.NS.svc:PORT/PATH?timeout=30s": service "SVC" not found` when the Service is missing,
  else `dial tcp CLUSTER-IP:PORT: connect: connection refused`. The answer is a Status with code 500
  and no reason (StatusReasonUnknown: the server passes the error on as it is), which `kubectl`
  prints as `Error from server: conversion webhook for …`.

Every read of a stored object converts it to the storage version first and then to the version
asked for (as the real server decodes from etcd into the storage version), so objects stored in a
version that is no longer the storage version fail to read with a webhook that is gone — the state
seed 004 describes.
"""

from . import resources


class ConversionError(Exception):
    """A conversion that failed; `code`/`reason`/`message` make the Status."""

    code = 500
    reason = ""     # StatusReasonUnknown

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def _crd(store, t) -> dict | None:
    """The type's CRD as stored (shared: read it, never change it), read again only when a CRD
    changed — every read and write of a custom resource asks for it."""
    name = resources.crd_name(t)
    return store.derived("CustomResourceDefinition", name,
                         lambda: store.get("CustomResourceDefinition", None, name))


def storage_version(store, t) -> str:
    """The version marked `storage: true` in the CRD (the type's first version without a CRD)."""
    crd = _crd(store, t)
    for v in ((crd or {}).get("spec") or {}).get("versions") or []:
        if v.get("storage"):
            return v.get("name")
    return t.versions[0]


def version_of(obj: dict) -> str:
    """The version part of an object's apiVersion (`v1beta1` of `external-secrets.io/v1beta1`)."""
    return str(obj.get("apiVersion") or "").rsplit("/", 1)[-1]


def _webhook_failure(store, crd: dict, t, source_version: str) -> ConversionError:
    conv = (crd.get("spec") or {}).get("conversion") or {}
    cc = ((conv.get("webhook") or {}).get("clientConfig")) or conv.get("webhookClientConfig") or {}
    what = f"conversion webhook for {t.group}/{source_version}, Kind={t.kind} failed"
    if cc.get("url"):
        return ConversionError(f'{what}: Post "{cc["url"]}?timeout=30s": dial tcp: connect: connection refused')
    svc = cc.get("service") or {}
    name, ns = svc.get("name", ""), svc.get("namespace", "")
    port = svc.get("port") or 443
    url = f"https://{name}.{ns}.svc:{port}{svc.get('path') or ''}?timeout=30s"
    service = store.get("Service", ns, name) if name and ns else None
    if service is None:
        return ConversionError(f'{what}: Post "{url}": service "{name}" not found')
    ip = (service.get("spec") or {}).get("clusterIP", "")
    return ConversionError(f'{what}: Post "{url}": dial tcp {ip}:{port}: connect: connection refused')


def convert(store, t, obj: dict, to_version: str) -> dict:
    """`obj` (in the version its apiVersion names) in `to_version`; raises ConversionError."""
    if t.builtin:
        obj["apiVersion"] = t.api_version(to_version)
        return obj
    source = version_of(obj)
    if source != to_version:
        crd = _crd(store, t)
        strategy = (((crd or {}).get("spec") or {}).get("conversion") or {}).get("strategy") or "None"
        if strategy == "Webhook":
            raise _webhook_failure(store, crd, t, source)
    obj["apiVersion"] = t.api_version(to_version)
    return obj


def read_as(store, t, obj: dict, version: str) -> dict:
    """A stored object as served in `version`: stored version → storage version → `version`."""
    if not t.builtin:
        obj = convert(store, t, obj, storage_version(store, t))
    return convert(store, t, obj, version)


def to_storage(store, t, obj: dict) -> dict:
    """An object written in the version its apiVersion names, as it is stored."""
    if t.builtin:
        return obj
    return convert(store, t, obj, storage_version(store, t))
