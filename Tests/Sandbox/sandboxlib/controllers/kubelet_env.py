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


def resolve_env(store, pod: dict, container: dict) -> dict[str, str]:
    """The container's environment; raises EnvError with the kubelet's message."""
    ns = pod["metadata"].get("namespace") or "default"
    env: dict[str, str] = {}
    for src in container.get("envFrom") or []:
        prefix = src.get("prefix", "")
        if "secretRef" in src:
            ref = src["secretRef"]
            obj = store.get("Secret", ns, ref.get("name", ""))
            if obj is None:
                if ref.get("optional"):
                    continue
                raise EnvError(f'secret "{ref.get("name", "")}" not found')
            data = _secret_data(obj)
        elif "configMapRef" in src:
            ref = src["configMapRef"]
            obj = store.get("ConfigMap", ns, ref.get("name", ""))
            if obj is None:
                if ref.get("optional"):
                    continue
                raise EnvError(f'configmap "{ref.get("name", "")}" not found')
            data = _configmap_data(obj)
        else:
            continue
        for k, v in data.items():
            if _ENV_NAME.match(prefix + k):
                env[prefix + k] = v
    for e in container.get("env") or []:
        name = e.get("name", "")
        if "value" in e or "valueFrom" not in e:
            env[name] = _expand(str(e.get("value", "")), env)
            continue
        vf = e["valueFrom"]
        if "secretKeyRef" in vf:
            ref = vf["secretKeyRef"]
            obj = store.get("Secret", ns, ref.get("name", ""))
            if obj is None:
                if ref.get("optional"):
                    continue
                raise EnvError(f'secret "{ref.get("name", "")}" not found')
            data = _secret_data(obj)
            if ref.get("key") not in data:
                if ref.get("optional"):
                    continue
                raise EnvError(f'couldn\'t find key {ref.get("key")} in Secret {ns}/{ref.get("name")}')
            env[name] = data[ref["key"]]
        elif "configMapKeyRef" in vf:
            ref = vf["configMapKeyRef"]
            obj = store.get("ConfigMap", ns, ref.get("name", ""))
            if obj is None:
                if ref.get("optional"):
                    continue
                raise EnvError(f'configmap "{ref.get("name", "")}" not found')
            data = _configmap_data(obj)
            if ref.get("key") not in data:
                if ref.get("optional"):
                    continue
                raise EnvError(f'couldn\'t find key {ref.get("key")} in ConfigMap {ns}/{ref.get("name")}')
            env[name] = data[ref["key"]]
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
