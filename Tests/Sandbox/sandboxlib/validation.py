"""Validation of written objects, with the real API server's messages (422 Invalid with causes,
400 BadRequest for data that cannot even be decoded)."""

import base64
import binascii
import re

from .labels import LabelSelector
from .resources import ResourceType
from .store import StoreError

_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_LABEL1123 = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_LABEL1035 = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
_CONFIG_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")

SUBDOMAIN_MSG = ("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', "
                 "and must start and end with an alphanumeric character (e.g. 'example.com', regex used for "
                 "validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')")
LABEL1123_MSG = ("a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must "
                 "start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for "
                 "validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')")
LABEL1035_MSG = ("a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an "
                 "alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', "
                 "regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')")
CONFIG_KEY_MSG = ("a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  "
                  "or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')")


def _go_value(v) -> str:
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(v, bool):
        return "true" if v else "false"
    if v is None:
        return "null"
    return str(v)


class Causes:
    """Collects field errors the way k8s.io/apimachinery field.ErrorList prints them."""

    def __init__(self):
        self.items: list = []

    def required(self, field: str, detail: str = ""):
        msg = "Required value" + (f": {detail}" if detail else "")
        self.items.append({"reason": "FieldValueRequired", "message": msg, "field": field})

    def invalid(self, field: str, value, detail: str):
        self.items.append({"reason": "FieldValueInvalid", "message": f"Invalid value: {_go_value(value)}: {detail}",
                           "field": field})

    def unsupported(self, field: str, value, supported: list):
        sv = ", ".join(_go_value(s) for s in supported)
        self.items.append({"reason": "FieldValueNotSupported",
                           "message": f"Unsupported value: {_go_value(value)}: supported values: {sv}",
                           "field": field})

    def raise_if_any(self, t: ResourceType, name: str):
        if not self.items:
            return
        qkind = f"{t.kind}.{t.group}" if t.group else t.kind
        parts = [f'{c["field"]}: {c["message"]}' for c in self.items]
        joined = parts[0] if len(parts) == 1 else "[" + ", ".join(parts) + "]"
        details = {"name": name, "kind": t.kind, "causes": self.items}
        if t.group:
            details = {"name": name, "group": t.group, "kind": t.kind, "causes": self.items}
        raise StoreError(422, "Invalid", f'{qkind} "{name}" is invalid: {joined}', details)


def bad_request(message: str) -> StoreError:
    return StoreError(400, "BadRequest", message)


def _pod_spec(c: Causes, spec, path: str, job: bool = False):
    if not isinstance(spec, dict):
        c.required(path)
        return
    containers = spec.get("containers")
    if not containers:
        c.required(f"{path}.containers")
    for i, ct in enumerate(containers or []):
        if not isinstance(ct, dict):
            continue
        if not ct.get("name"):
            c.required(f"{path}.containers[{i}].name")
        elif not _LABEL1123.match(ct["name"]):
            c.invalid(f"{path}.containers[{i}].name", ct["name"], LABEL1123_MSG)
        if not ct.get("image"):
            c.required(f"{path}.containers[{i}].image")
    if job and spec.get("restartPolicy") not in ("OnFailure", "Never"):
        c.unsupported(f"{path}.restartPolicy", spec.get("restartPolicy"), ["OnFailure", "Never"])


def _selector_matches(c: Causes, spec: dict):
    sel = spec.get("selector")
    if not isinstance(sel, dict) or not (sel.get("matchLabels") or sel.get("matchExpressions")):
        c.required("spec.selector")
        return
    labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
    if not LabelSelector.from_label_selector(sel).matches(labels):
        shown = "map[string]string{" + ", ".join(f'"{k}":"{v}"' for k, v in sorted(labels.items())) + "}"
        c.items.append({"reason": "FieldValueInvalid", "field": "spec.template.metadata.labels",
                        "message": f"Invalid value: {shown}: `selector` does not match template `labels`"})


def validate(t: ResourceType, obj: dict):
    """Raise StoreError (422 Invalid, 400 BadRequest) when obj is not acceptable."""
    md = obj.get("metadata")
    if not isinstance(md, dict):
        md = obj["metadata"] = {}
    name = md.get("name") or ""
    c = Causes()
    if not name:
        c.required("metadata.name", "name or generateName is required")
    elif t.kind == "Namespace" and not _LABEL1123.match(name):
        c.invalid("metadata.name", name, LABEL1123_MSG)
    elif t.kind == "Service" and not _LABEL1035.match(name):
        c.invalid("metadata.name", name, LABEL1035_MSG)
    elif not _SUBDOMAIN.match(name) or len(name) > 253:
        c.invalid("metadata.name", name, SUBDOMAIN_MSG)
    if t.namespaced and not md.get("namespace"):
        c.required("metadata.namespace")
    for field in ("labels", "annotations"):
        v = md.get(field)
        if v is not None and (not isinstance(v, dict) or not all(isinstance(x, str) for x in v.values())):
            raise bad_request(f"{t.kind} in version \"{t.versions[0]}\" cannot be handled as a {t.kind}: "
                              f"json: cannot unmarshal into Go struct field ObjectMeta.metadata.{field} of type string")
    kind = t.kind
    if kind in ("Secret", "ConfigMap"):
        data = obj.get("data") or {}
        if not isinstance(data, dict):
            raise bad_request(f"{kind} in version \"v1\" cannot be handled as a {kind}: json: cannot unmarshal "
                              f"into Go struct field {kind}.data of type map[string]")
        for k, v in data.items():
            if not _CONFIG_KEY.match(k):
                c.invalid(f"data[{k}]", k, CONFIG_KEY_MSG)
            if kind == "Secret":
                try:
                    if not isinstance(v, str):
                        raise binascii.Error("not a string")
                    base64.b64decode(v, validate=True)
                except (binascii.Error, ValueError):
                    raise bad_request(f"Secret in version \"v1\" cannot be handled as a Secret: illegal base64 data "
                                      f"at input byte {_bad_byte(v)}") from None
            elif not isinstance(v, str):
                raise bad_request("ConfigMap in version \"v1\" cannot be handled as a ConfigMap: json: cannot "
                                  "unmarshal number into Go struct field ConfigMap.data of type string")
        for k in (obj.get("stringData") or {}) if kind == "Secret" else ():
            if not _CONFIG_KEY.match(k):
                c.invalid(f"stringData[{k}]", k, CONFIG_KEY_MSG)
    spec = obj.get("spec")
    if kind in ("Deployment", "StatefulSet", "ReplicaSet"):
        spec = spec if isinstance(spec, dict) else {}
        _selector_matches(c, spec)
        _pod_spec(c, (spec.get("template") or {}).get("spec"), "spec.template.spec")
        r = spec.get("replicas")
        if isinstance(r, int) and r < 0:
            c.invalid("spec.replicas", r, "must be greater than or equal to 0")
    elif kind == "Job":
        spec = spec if isinstance(spec, dict) else {}
        _pod_spec(c, (spec.get("template") or {}).get("spec"), "spec.template.spec", job=True)
    elif kind == "CronJob":
        spec = spec if isinstance(spec, dict) else {}
        if not spec.get("schedule"):
            c.required("spec.schedule")
        jt = ((spec.get("jobTemplate") or {}).get("spec") or {}).get("template") or {}
        _pod_spec(c, jt.get("spec"), "spec.jobTemplate.spec.template.spec", job=True)
    elif kind == "Pod":
        _pod_spec(c, spec, "spec")
    c.raise_if_any(t, name)


def _bad_byte(v) -> int:
    if not isinstance(v, str):
        return 0
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/="
    for i, ch in enumerate(v):
        if ch not in alphabet:
            return i
    return max(len(v) - len(v) % 4, 0)


def _go_selector(sel) -> str:
    sel = sel or {}
    ml = sel.get("matchLabels")
    labels = "map[string]string(nil)" if ml is None else \
        "map[string]string{" + ", ".join(f'"{k}":"{v}"' for k, v in sorted(ml.items())) + "}"
    return f"v1.LabelSelector{{MatchLabels:{labels}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}}"


def validate_update(t: ResourceType, old: dict, new: dict):
    """The immutability rules of the real server for updates through the API (`new` already defaulted)."""
    c = Causes()
    name = old["metadata"]["name"]
    os_, ns_ = old.get("spec") or {}, new.get("spec") or {}
    kind = t.kind
    if kind in ("Deployment", "StatefulSet", "ReplicaSet", "Job") and os_.get("selector") != ns_.get("selector"):
        c.items.append({"reason": "FieldValueInvalid", "field": "spec.selector",
                        "message": f"Invalid value: {_go_selector(ns_.get('selector'))}: field is immutable"})
    if kind == "StatefulSet":
        mutable = {"replicas", "ordinals", "template", "updateStrategy", "persistentVolumeClaimRetentionPolicy",
                   "minReadySeconds", "selector"}
        if {k: v for k, v in os_.items() if k not in mutable} != {k: v for k, v in ns_.items() if k not in mutable}:
            c.items.append({"reason": "FieldValueForbidden", "field": "spec",
                            "message": "Forbidden: updates to statefulset spec for fields other than 'replicas', "
                                       "'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' "
                                       "and 'minReadySeconds' are forbidden"})
    if kind == "Job":
        if os_.get("template") != ns_.get("template"):
            c.items.append({"reason": "FieldValueInvalid", "field": "spec.template",
                            "message": "Invalid value: core.PodTemplateSpec{...}: field is immutable"})
        for f in ("completions", "completionMode"):
            if os_.get(f) != ns_.get(f) and not (f == "completions" and ns_.get("completionMode") == "Indexed"):
                c.items.append({"reason": "FieldValueInvalid", "field": f"spec.{f}",
                                "message": f"Invalid value: {_go_value(ns_.get(f))}: field is immutable"})
    if kind in ("Secret", "ConfigMap") and old.get("immutable"):
        if old.get("data") != new.get("data") or old.get("binaryData") != new.get("binaryData"):
            c.items.append({"reason": "FieldValueForbidden", "field": "data",
                            "message": "Forbidden: field is immutable when `immutable` is set"})
        if not new.get("immutable"):
            c.items.append({"reason": "FieldValueForbidden", "field": "immutable",
                            "message": "Forbidden: field is immutable when `immutable` is set"})
    if kind == "Secret" and old.get("type") != new.get("type"):
        c.items.append({"reason": "FieldValueInvalid", "field": "type",
                        "message": f"Invalid value: {_go_value(new.get('type'))}: field is immutable"})
    if kind == "PersistentVolumeClaim":
        strip = lambda s: {k: v for k, v in s.items() if k not in ("resources", "volumeAttributesClassName",
                                                                     "volumeName")}
        if strip(os_) != strip(ns_):
            c.items.append({"reason": "FieldValueForbidden", "field": "spec",
                            "message": "Forbidden: spec is immutable after creation except resources.requests and "
                                       "volumeAttributesClassName for bound claims"})
    if kind == "Service" and os_.get("clusterIP") and ns_.get("clusterIP") != os_.get("clusterIP") \
            and os_.get("type") != "ExternalName" and ns_.get("type") != "ExternalName":
        c.items.append({"reason": "FieldValueInvalid", "field": "spec.clusterIPs[0]",
                        "message": f'Invalid value: []string{{"{ns_.get("clusterIP")}"}}: may not change once set'})
    if kind == "Pod":
        strip = lambda s: {k: ([{kk: vv for kk, vv in ct.items() if kk != "image"} for ct in v]
                               if k in ("containers", "initContainers") else v)
                           for k, v in s.items() if k not in ("activeDeadlineSeconds", "tolerations",
                                                               "terminationGracePeriodSeconds")}
        if strip(os_) != strip(ns_):
            c.items.append({"reason": "FieldValueForbidden", "field": "spec",
                            "message": "Forbidden: pod updates may not change fields other than "
                                       "`spec.containers[*].image`,`spec.initContainers[*].image`,"
                                       "`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing "
                                       "tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if "
                                       "it was previously negative)"})
    c.raise_if_any(t, name)
