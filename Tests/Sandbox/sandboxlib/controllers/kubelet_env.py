"""Container environment resolution with the kubelet's rules and messages."""
import base64
import re

_ENV_NAME = re.compile(r"^[-._a-zA-Z][-._a-zA-Z0-9]*$")


class EnvError(Exception):
    """A CreateContainerConfigError: a referenced Secret/ConfigMap or key is missing."""


def _secret_data(secret: dict) -> dict[str, str]:
    out = {}
    for k, v in (secret.get("data") or {}).items():
        out[k] = base64.b64decode(v).decode("utf-8", errors="replace")
    for k, v in (secret.get("stringData") or {}).items():
        out[k] = v
    return out


def _configmap_data(cm: dict) -> dict[str, str]:
    out = dict(cm.get("data") or {})
    for k, v in (cm.get("binaryData") or {}).items():
        out[k] = base64.b64decode(v).decode("utf-8", errors="replace")
    return out


def _expand(value: str, env: dict[str, str]) -> str:
    """$(VAR) expansion as the kubelet does ($$ escapes; unknown refs stay as written)."""
    out, i = [], 0
    while i < len(value):
        if value.startswith("$$", i):
            out.append("$")
            i += 2
        elif value.startswith("$(", i) and ")" in value[i:]:
            j = value.index(")", i)
            name = value[i + 2:j]
            out.append(env[name] if name in env else value[i:j + 1])
            i = j + 1
        else:
            out.append(value[i])
            i += 1
    return "".join(out)


# Kind → (how its data reads, how the kubelet names it in "not found" messages).
_SOURCES = {"Secret": (_secret_data, "secret"), "ConfigMap": (_configmap_data, "configmap")}


def _source(store, kind: str, ns: str, ref: dict, key: str | None = None):
    """The data of the Secret/ConfigMap `ref` names (or the value of `key` in it); None when it,
    or the key, is missing and `ref` is optional; otherwise raises EnvError with the kubelet's words."""
    read, word = _SOURCES[kind]
    name = ref.get("name", "")
    obj = store.get(kind, ns, name)
    if obj is None:
        if ref.get("optional"):
            return None
        raise EnvError(f'{word} "{name}" not found')
    data = read(obj)
    if key is None:
        return data
    if key not in data:
        if ref.get("optional"):
            return None
        raise EnvError(f"couldn't find key {key} in {kind} {ns}/{name}")
    return data[key]


def resolve_env(store, pod: dict, container: dict) -> dict[str, str]:
    """The container's environment; raises EnvError with the kubelet's message."""
    ns = pod["metadata"].get("namespace") or "default"
    env: dict[str, str] = {}
    for src in container.get("envFrom") or []:
        prefix = src.get("prefix", "")
        kind = "Secret" if "secretRef" in src else "ConfigMap" if "configMapRef" in src else None
        if kind is None:
            continue
        data = _source(store, kind, ns, src["secretRef" if kind == "Secret" else "configMapRef"])
        for k, v in (data or {}).items():
            if _ENV_NAME.match(prefix + k):
                env[prefix + k] = v
    for e in container.get("env") or []:
        name = e.get("name", "")
        if "value" in e or "valueFrom" not in e:
            env[name] = _expand(str(e.get("value", "")), env)
            continue
        vf = e["valueFrom"]
        if "secretKeyRef" in vf or "configMapKeyRef" in vf:
            kind, ref = ("Secret", vf["secretKeyRef"]) if "secretKeyRef" in vf else ("ConfigMap", vf["configMapKeyRef"])
            value = _source(store, kind, ns, ref, ref.get("key"))
            if value is not None:
                env[name] = value
        elif "fieldRef" in vf:
            path = vf["fieldRef"].get("fieldPath", "")
            md = pod["metadata"]
            values = {"metadata.name": md.get("name", ""), "metadata.namespace": ns,
                      "metadata.uid": md.get("uid", ""), "status.podIP": "127.0.0.1",
                      "status.hostIP": "127.0.0.1", "spec.nodeName": "sandbox-node",
                      "spec.serviceAccountName": pod.get("spec", {}).get("serviceAccountName", "default")}
            m = re.match(r"^metadata\.(labels|annotations)\['(.+)'\]$", path)
            if m:
                env[name] = (md.get(m.group(1)) or {}).get(m.group(2), "")
            else:
                env[name] = values.get(path, "")
    return env
