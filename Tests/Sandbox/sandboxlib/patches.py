"""The PATCH flavours: JSON merge patch (RFC 7386), JSON patch (RFC 6902), an approximation of
server-side apply, and strategic merge patch computed by the real `kubectl patch --local`."""

import copy
import json
import os
import shutil
import subprocess
import tempfile


class PatchError(Exception):
    """A patch that cannot be applied: code 400 (malformed) or 422 (does not apply)."""

    def __init__(self, code: int, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


def merge_patch(target, patch):
    """RFC 7386: objects merge recursively, null deletes, everything else replaces."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = copy.deepcopy(target) if isinstance(target, dict) else {}
    for k, v in patch.items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = merge_patch(out.get(k), v)
    return out


def _unescape(tok: str) -> str:
    return tok.replace("~1", "/").replace("~0", "~")


def _split(pointer: str) -> list:
    if pointer == "":
        return []
    if not pointer.startswith("/"):
        raise PatchError(422, f"JSON pointer {pointer!r} must start with '/'")
    return [_unescape(t) for t in pointer[1:].split("/")]


def _parent(doc, tokens: list, pointer: str):
    cur = doc
    for t in tokens[:-1]:
        if isinstance(cur, dict) and t in cur:
            cur = cur[t]
        elif isinstance(cur, list) and t.isdigit() and int(t) < len(cur):
            cur = cur[int(t)]
        else:
            raise PatchError(422, f"doc is missing path: {pointer!r}")
    return cur


def _index(lst: list, tok: str, pointer: str, allow_end: bool) -> int:
    if tok == "-" and allow_end:
        return len(lst)
    if not tok.isdigit() or (len(tok) > 1 and tok[0] == "0"):
        raise PatchError(422, f"invalid array index {tok!r} in {pointer!r}")
    i = int(tok)
    if i > len(lst) or (i == len(lst) and not allow_end):
        raise PatchError(422, f"array index out of bounds: {pointer!r}")
    return i


def _get(doc, pointer: str):
    cur = doc
    for t in _split(pointer):
        if isinstance(cur, dict) and t in cur:
            cur = cur[t]
        elif isinstance(cur, list) and t.isdigit() and int(t) < len(cur):
            cur = cur[int(t)]
        else:
            raise PatchError(422, f"doc is missing path: {pointer!r}")
    return cur


def _add(doc, pointer: str, value):
    tokens = _split(pointer)
    if not tokens:
        return copy.deepcopy(value)
    parent = _parent(doc, tokens, pointer)
    last = tokens[-1]
    if isinstance(parent, dict):
        parent[last] = copy.deepcopy(value)
    elif isinstance(parent, list):
        parent.insert(_index(parent, last, pointer, True), copy.deepcopy(value))
    else:
        raise PatchError(422, f"doc is missing path: {pointer!r}")
    return doc


def _remove(doc, pointer: str):
    tokens = _split(pointer)
    if not tokens:
        raise PatchError(422, "cannot remove the whole document")
    parent = _parent(doc, tokens, pointer)
    last = tokens[-1]
    if isinstance(parent, dict):
        if last not in parent:
            raise PatchError(422, f"unable to remove nonexistent key: {last}: missing value")
        return parent.pop(last)
    if isinstance(parent, list):
        return parent.pop(_index(parent, last, pointer, False))
    raise PatchError(422, f"doc is missing path: {pointer!r}")


def json_patch(doc, ops):
    """RFC 6902 operations add, remove, replace, move, copy, test; all or nothing."""
    if not isinstance(ops, list):
        raise PatchError(400, "json: cannot unmarshal object into Go value of type jsonpatch.Patch")
    doc = copy.deepcopy(doc)
    for op in ops:
        if not isinstance(op, dict) or "op" not in op:
            raise PatchError(400, "json patch operation without \"op\"")
        kind = op["op"]
        path = op.get("path")
        if not isinstance(path, str):
            raise PatchError(422, f"operation {kind!r} is missing \"path\"")
        if kind in ("add", "replace", "test") and "value" not in op:
            raise PatchError(422, f"operation {kind!r} is missing \"value\"")
        if kind == "add":
            doc = _add(doc, path, op["value"])
        elif kind == "remove":
            _remove(doc, path)
        elif kind == "replace":
            if not _split(path):
                doc = copy.deepcopy(op["value"])
                continue
            _get(doc, path)
            tokens = _split(path)
            parent = _parent(doc, tokens, path)
            if isinstance(parent, list):
                parent[_index(parent, tokens[-1], path, False)] = copy.deepcopy(op["value"])
            else:
                parent[tokens[-1]] = copy.deepcopy(op["value"])
        elif kind in ("move", "copy"):
            frm = op.get("from")
            if not isinstance(frm, str):
                raise PatchError(422, f"operation {kind!r} is missing \"from\"")
            if kind == "move" and (path + "/").startswith(frm + "/") and path != frm:
                raise PatchError(422, f"cannot move {frm!r} into its own child {path!r}")
            value = copy.deepcopy(_get(doc, frm))
            if kind == "move":
                _remove(doc, frm)
            doc = _add(doc, path, value)
        elif kind == "test":
            if _get(doc, path) != op["value"]:
                raise PatchError(422, f"testing value {path} failed: test failed")
        else:
            raise PatchError(400, f"Unexpected kind: {kind}")
    return doc


# Keys by which server-side apply (approximated) merges lists of objects.
_LIST_KEYS = ("name", "mountPath", "containerPort", "devicePath", "ip", "key", "type")


def _list_key(items: list):
    if not items or not all(isinstance(i, dict) for i in items):
        return None
    for k in _LIST_KEYS:
        if all(k in i for i in items):
            return k
    return None


def apply_merge(live, applied):
    """Approximate server-side apply merge: maps merge, keyed lists merge by key, other lists and
    scalars replace (removal of fields no longer applied: see `apply_owned`)."""
    if isinstance(live, dict) and isinstance(applied, dict):
        out = copy.deepcopy(live)
        for k, v in applied.items():
            out[k] = apply_merge(live.get(k), v) if k in live else copy.deepcopy(v)
        return out
    if isinstance(live, list) and isinstance(applied, list):
        key = _list_key(applied)
        if key and _list_key(live) == key:
            out = copy.deepcopy(live)
            index = {i[key]: n for n, i in enumerate(out)}
            for item in applied:
                if item[key] in index:
                    out[index[item[key]]] = apply_merge(out[index[item[key]]], item)
                else:
                    out.append(copy.deepcopy(item))
            return out
    return copy.deepcopy(applied)


_FIXED = {("apiVersion",), ("kind",), ("metadata", "name"), ("metadata", "namespace")}


def field_paths(obj, prefix: tuple = ()) -> set:
    """The fields a configuration sets: leaves (scalars, atomic lists, empty maps) and the items of
    keyed lists (path element ("k", KEY, VALUE))."""
    if isinstance(obj, dict):
        if not obj:
            return {prefix}
        out = set()
        for k, v in obj.items():
            out |= field_paths(v, prefix + (k,))
        return out
    if isinstance(obj, list):
        key = _list_key(obj)
        if not key:
            return {prefix}
        out = set()
        for item in obj:
            ip = prefix + (("k", key, json.dumps(item[key])),)
            out.add(ip)
            out |= field_paths({k: v for k, v in item.items() if k != key}, ip) - {ip}
        return out
    return {prefix}


def _remove_path(obj, path: tuple):
    cur = obj
    for n, el in enumerate(path):
        last = n == len(path) - 1
        if isinstance(el, tuple):
            if not isinstance(cur, list):
                return
            _, key, val = el
            idx = next((i for i, it in enumerate(cur) if isinstance(it, dict) and json.dumps(it.get(key)) == val), None)
            if idx is None:
                return
            if last:
                cur.pop(idx)
                return
            cur = cur[idx]
        else:
            if not isinstance(cur, dict) or el not in cur:
                return
            if last:
                del cur[el]
                return
            cur = cur[el]


def apply_owned(live: dict, applied: dict, previous: set, others: set):
    """Server-side apply with field ownership of one manager: merge `applied` into `live`, then remove
    what this manager applied before (`previous`) but no longer does, unless another apply manager
    also sets it (`others`). Returns (result, fields now owned)."""
    out = apply_merge(live, applied)
    now = field_paths(applied)
    gone = previous - now - others - _FIXED
    for path in sorted(gone, key=len, reverse=True):
        if any(p[:len(path)] == path for p in now | others if len(p) > len(path)):
            continue       # a map or item still used by a field that stays
        _remove_path(out, path)
    return out, now


class StrategicPatcher:
    """Runs the real `kubectl patch --local` with a kubeconfig that points at nothing.

    The object goes to kubectl on stdin and the patch through a pipe (/dev/fd/N): nothing is
    written to disk."""

    def __init__(self, kubectl: str = "kubectl"):
        self.kubectl = kubectl
        self.home = tempfile.mkdtemp(prefix=f"sandbox-kubectl-{os.getpid()}-")
        os.chmod(self.home, 0o700)
        self.kubeconfig = os.path.join(self.home, "kubeconfig")
        with open(self.kubeconfig, "w") as f:
            f.write("apiVersion: v1\nkind: Config\nclusters:\n- name: none\n  cluster: {server: 'https://127.0.0.1:1'}\n"
                    "contexts:\n- name: none\n  context: {cluster: none, user: none}\ncurrent-context: none\n"
                    "users:\n- name: none\n  user: {}\n")

    def close(self) -> None:
        """Removes the private home made for kubectl."""
        shutil.rmtree(self.home, ignore_errors=True)

    def patch(self, obj: dict, patch: dict) -> dict:
        r, w = os.pipe()
        try:
            data = json.dumps(patch).encode()
            env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": self.home, "KUBECONFIG": self.kubeconfig}
            p = subprocess.Popen([self.kubectl, "patch", "--local", "-f", "-", "--type", "strategic",
                                  "--patch-file", f"/dev/fd/{r}", "-o", "json"],
                                 stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                 pass_fds=(r,), env=env, cwd=self.home)
            os.close(r)
            r = -1
            with os.fdopen(w, "wb") as wf:
                w = -1
                wf.write(data)
            out, err = p.communicate(json.dumps(obj).encode(), timeout=30)
        finally:
            for fd in (r, w):
                if fd >= 0:
                    os.close(fd)
        if p.returncode != 0:
            msg = err.decode(errors="replace").strip()
            if msg.startswith("error: "):
                msg = msg[len("error: "):]
            raise PatchError(422, msg or "kubectl patch failed")
        return json.loads(out)
