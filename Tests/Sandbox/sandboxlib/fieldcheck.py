"""Unknown-field detection for built-in kinds (`fieldValidation=Strict|Warn`), with the message
schema that protobuf.py reads from the kubectl binary (proto field names are the JSON names)."""

from . import protobuf
from .resources import ResourceType

# Types whose JSON form is not an object of their proto fields.
_OPAQUE = {".k8s.io.apimachinery.pkg.apis.meta.v1.Time", ".k8s.io.apimachinery.pkg.apis.meta.v1.MicroTime",
           ".k8s.io.apimachinery.pkg.api.resource.Quantity", ".k8s.io.apimachinery.pkg.util.intstr.IntOrString",
           ".k8s.io.apimachinery.pkg.runtime.RawExtension", ".k8s.io.apimachinery.pkg.apis.meta.v1.Duration",
           ".k8s.io.apimachinery.pkg.apis.meta.v1.FieldsV1"}


def _fields(sch: dict, name: str) -> dict:
    """JSON field name → proto field, with Go-inlined structs flattened (computed once per message)."""
    key = (id(sch), name)
    known = _flat.get(key)
    if known is not None:
        return known
    out = {}
    for f in sch[name].fields.values():
        if f.inline:
            out.update(_fields(sch, f.type_name))
        else:
            out[f.name] = f
    _flat[key] = out
    return out


_flat: dict = {}    # (id of a schema, message name) → _fields(); schemas live as long as the process


def _walk(sch: dict, name: str, value, path: str, out: list):
    if name in _OPAQUE or name not in sch or not isinstance(value, dict):
        return
    fields = _fields(sch, name)
    for k, v in value.items():
        f = fields.get(k)
        here = f"{path}.{k}" if path else k
        if f is None:
            if not path and k in ("apiVersion", "kind"):
                continue
            out.append(here)
            continue
        if f.type != protobuf._T_MESSAGE or v is None:
            continue
        sub = sch.get(f.type_name)
        if sub is not None and sub.map_entry:
            vf = sub.fields.get(2)
            if vf is not None and vf.type == protobuf._T_MESSAGE and isinstance(v, dict):
                for mk, mv in v.items():
                    _walk(sch, vf.type_name, mv, f"{here}[{mk}]", out)
            continue
        if f.repeated and isinstance(v, list):
            for i, item in enumerate(v):
                _walk(sch, f.type_name, item, f"{here}[{i}]", out)
        else:
            _walk(sch, f.type_name, v, here, out)


def unknown_fields(t: ResourceType, version: str, obj: dict, kubectl: str = "kubectl") -> list:
    """Paths of fields a built-in kind does not have (["spec.template.spec.containers[0].evn"]);
    always [] for custom resources (their schemas accept anything in the sandbox)."""
    if not t.builtin:
        return []
    sch = protobuf.schema(kubectl)
    group = t.group.split(".")[0] if t.group else "core"
    name = f".k8s.io.api.{group}.{version}.{t.kind}"
    if t.group == "apiextensions.k8s.io":
        name = f".k8s.io.apiextensions_apiserver.pkg.apis.apiextensions.{version}.{t.kind}"
    if name not in sch:
        return []
    out: list = []
    _walk(sch, name, obj, "", out)
    return out
