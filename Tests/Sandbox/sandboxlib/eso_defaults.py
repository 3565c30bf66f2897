"""Defaults of the External Secrets Operator's CRD schemas, which the API server fills in on every
write (OpenAPI `default:` of a structural schema). These are the fields seed 004 saw Argo CD report
as drift: `remoteRef.conversionStrategy: Default`, `decodingStrategy: None`, `metadataPolicy: None`
and `target.deletionPolicy: Retain` (plus `target.creationPolicy: Owner`, defaulted the same way)."""


def _remote_ref(ref):
    if isinstance(ref, dict):
        ref.setdefault("conversionStrategy", "Default")
        ref.setdefault("decodingStrategy", "None")
        ref.setdefault("metadataPolicy", "None")


def external_secret(obj: dict):
    """Fill the ExternalSecret defaults in place."""
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        return
    for item in spec.get("data") or []:
        if isinstance(item, dict):
            _remote_ref(item.get("remoteRef"))
    for item in spec.get("dataFrom") or []:
        if isinstance(item, dict):
            _remote_ref(item.get("extract"))
    target = spec.get("target")
    if target is None:
        target = spec["target"] = {}
    if isinstance(target, dict):
        target.setdefault("creationPolicy", "Owner")
        target.setdefault("deletionPolicy", "Retain")
