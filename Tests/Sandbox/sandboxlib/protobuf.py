"""Decoding of Kubernetes protobuf request bodies (`application/vnd.kubernetes.protobuf`).

kubectl's imperative commands (`kubectl create secret|configmap|namespace|job [--from]|deployment`)
send built-in objects as protobuf, and a real API server accepts them. The sandbox decodes them
into the JSON form. The schema is not written down here: it is read at run time from the
protobuf file descriptors that the real `kubectl` binary carries (gzipped FileDescriptorProto
blobs registered by the generated Go code), so it always matches the kubectl in use.
"""

import base64
import datetime
import json
import re
import shutil
import threading
import zlib

MAGIC = b"k8s\x00"
CONTENT_TYPE = "application/vnd.kubernetes.protobuf"

# FieldDescriptorProto.type values
_T_DOUBLE, _T_FLOAT, _T_INT64, _T_UINT64, _T_INT32, _T_FIXED64, _T_FIXED32, _T_BOOL, _T_STRING = range(1, 10)
_T_MESSAGE, _T_BYTES, _T_UINT32, _T_ENUM, _T_SFIXED32, _T_SFIXED64, _T_SINT32, _T_SINT64 = 11, 12, 13, 14, 15, 16, 17, 18
_LABEL_REPEATED = 3

_META = ".k8s.io.apimachinery.pkg.apis.meta.v1."
_GOGO_CUSTOMNAME = 65004       # (gogoproto.customname): the Go struct field's name
# Non-pointer Go fields that JSON omits when zero but gogo protobuf always encodes.
_OMIT_ZERO = {"hostPort", "stdin", "stdinOnce", "tty", "generation", "hostIPC", "hostNetwork", "hostPID", "paused",
              "minReadySeconds", "readOnly", "subPath", "observedGeneration", "nodePort"}


class ProtobufError(ValueError):
    """A body that cannot be decoded."""


def _varint(buf: bytes, i: int):
    shift = result = 0
    while True:
        if i >= len(buf):
            raise ProtobufError("truncated varint")
        b = buf[i]
        i += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, i
        shift += 7
        if shift > 70:
            raise ProtobufError("varint too long")


def _fields(buf: bytes):
    """Yield (number, wire type, value) of a serialized message."""
    i = 0
    n = len(buf)
    while i < n:
        key, i = _varint(buf, i)
        num, wt = key >> 3, key & 7
        if wt == 0:
            v, i = _varint(buf, i)
        elif wt == 1:
            v, i = buf[i:i + 8], i + 8
        elif wt == 2:
            ln, i = _varint(buf, i)
            v, i = buf[i:i + ln], i + ln
            if i > n:
                raise ProtobufError("truncated field")
        elif wt == 5:
            v, i = buf[i:i + 4], i + 4
        else:
            raise ProtobufError(f"unsupported wire type {wt}")
        yield num, wt, v


class _Field:
    """One field of a message. `inline` marks a Go struct embedded without a JSON name
    (`json:",inline"`): its fields appear directly in the parent's JSON object."""
    __slots__ = ("name", "number", "repeated", "type", "type_name", "go_name", "inline")

    def __init__(self, name, number, repeated, typ, type_name, go_name=""):
        self.name, self.number, self.repeated, self.type, self.type_name = name, number, repeated, typ, type_name
        self.go_name = go_name or (name[:1].upper() + name[1:] if name else "")
        self.inline = False


class _Message:
    __slots__ = ("name", "fields", "map_entry")

    def __init__(self, name):
        self.name = name
        self.fields: dict = {}
        self.map_entry = False


def _parse_message(buf: bytes, prefix: str, out: dict):
    msg = _Message("")
    nested = []
    for num, _wt, v in _fields(buf):
        if num == 1:
            msg.name = prefix + "." + v.decode()
        elif num == 2:
            name = number = typ = None
            label, type_name, go_name = 1, "", ""
            for fn, _fw, fv in _fields(v):
                if fn == 1:
                    name = fv.decode()
                elif fn == 3:
                    number = fv
                elif fn == 4:
                    label = fv
                elif fn == 5:
                    typ = fv
                elif fn == 6:
                    type_name = fv.decode()
                elif fn == 8:
                    go_name = next((ov.decode() for on, _ow, ov in _fields(fv) if on == _GOGO_CUSTOMNAME), "")
            msg.fields[number] = _Field(name, number, label == _LABEL_REPEATED, typ, type_name, go_name)
        elif num == 3:
            nested.append(v)
        elif num == 7:
            for on, _ow, ov in _fields(v):
                if on == 7 and ov:
                    msg.map_entry = True
    out[msg.name] = msg
    for n in nested:
        _parse_message(n, msg.name, out)


def _parse_file(buf: bytes, out: dict):
    package = ""
    messages = []
    for num, _wt, v in _fields(buf):
        if num == 2:
            package = v.decode()
        elif num == 4:
            messages.append(v)
    for m in messages:
        _parse_message(m, "." + package, out)


_TAG_PAIR = re.compile(rb'(\w+):"((?:[^"\\]|\\.)*)"')


def _embedded_without_json_name(data: bytes) -> set:
    """(Go field name, protobuf field number, protobuf name or None) of every embedded (anonymous)
    Go struct field whose `json` tag has no name, e.g. `ProbeHandler `json:",inline"
    protobuf:"bytes,1,opt,name=handler"``. encoding/json puts the fields of such a struct
    directly into the parent object. The protobuf descriptors do not record this, but the Go
    runtime type data in the binary does: each struct field's name is stored as a flags byte
    (bit 3: embedded, bit 1: has tag), a varint length, the name, then a varint length and the tag."""
    out = set()
    for m in re.finditer(rb'json:",', data):
        t = m.start()
        for width in (1, 2):                       # the tag's varint length, just before it
            p = t - width
            if width == 1:
                if data[p] & 0x80:
                    continue
                length = data[p]
            else:
                if not data[p] & 0x80 or data[p + 1] & 0x80:
                    continue
                length = (data[p] & 0x7F) | (data[p + 1] << 7)
            tag = data[t:t + length]
            if b"\x00" in tag:
                continue
            for n in range(1, 100):                # the field name and its one-byte length
                if p - n - 2 < 0 or data[p - n - 1] != n:
                    continue
                name = data[p - n:p]
                flags = data[p - n - 2]
                if re.fullmatch(rb"[A-Z][A-Za-z0-9_]*", name) and flags & 0x08 and flags & 0x02 and flags < 0x10:
                    pairs = dict(_TAG_PAIR.findall(tag))
                    pb = pairs.get(b"protobuf", b"").split(b",")
                    if len(pb) >= 2 and pb[1].isdigit():
                        pname = next((x[5:].decode() for x in pb if x.startswith(b"name=")), None)
                        out.add((name.decode(), int(pb[1]), pname))
                    break
            break
    return out


def _mark_inline(out: dict, embedded: set):
    for msg in out.values():
        for f in msg.fields.values():
            if f.type == _T_MESSAGE and ((f.go_name, f.number, f.name) in embedded
                                         or (f.go_name, f.number, None) in embedded):
                f.inline = True


_schema_lock = threading.Lock()
_schemas: dict = {}     # kubectl binary path → schema
_by_name: dict = {}     # the name schema() was given → schema


def schema(kubectl: str = "kubectl") -> dict:
    """Message name (".k8s.io.api.core.v1.Secret") → descriptor, read from the kubectl binary (once:
    every write of a built-in kind asks, so the binary is not even looked up on PATH again)."""
    known = _by_name.get(kubectl)
    if known is not None:
        return known
    path = shutil.which(kubectl) or kubectl
    with _schema_lock:
        if path in _schemas:
            _by_name[kubectl] = _schemas[path]
            return _schemas[path]
        with open(path, "rb") as f:
            data = f.read()
        out: dict = {}
        for m in re.finditer(b"\x1f\x8b\x08\x00\x00\x00\x00\x00", data):
            try:
                blob = zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(data[m.start():m.start() + 4_000_000])
            except zlib.error:
                continue
            if blob[:1] == b"\x0a" and b"k8s.io/" in blob[:120] and b"generated.proto" in blob[:120]:
                try:
                    _parse_file(blob, out)
                except (ProtobufError, UnicodeDecodeError, IndexError):
                    continue
        if ".k8s.io.api.core.v1.Secret" not in out:
            raise ProtobufError(f"no Kubernetes protobuf descriptors found in {path}")
        embedded = _embedded_without_json_name(data)
        if not embedded:
            raise ProtobufError(f"no Go struct tags of inline (embedded) fields found in {path}")
        _mark_inline(out, embedded)
        _schemas[path] = out
        _by_name[kubectl] = out
        return out


def _rfc3339(seconds: int, nanos: int = 0, micro: bool = False) -> str | None:
    if seconds in (-62135596800, 0) and not nanos:
        return None       # Go's zero time: omitted in JSON
    t = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc) + datetime.timedelta(seconds=seconds)
    if micro:
        return t.strftime("%Y-%m-%dT%H:%M:%S") + f".{nanos // 1000:06d}Z"
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def _signed(v: int, bits: int) -> int:
    return v - (1 << bits) if v >= 1 << (bits - 1) else v


def _scalar(f: _Field, wt: int, v):
    t = f.type
    if t == _T_STRING:
        return v.decode()
    if t == _T_BYTES:
        return base64.b64encode(v).decode()
    if t == _T_BOOL:
        return bool(v)
    if t in (_T_INT64, _T_INT32, _T_ENUM):
        return _signed(v, 64)
    if t in (_T_UINT64, _T_UINT32):
        return v
    if t in (_T_SINT32, _T_SINT64):
        return (v >> 1) ^ -(v & 1)
    if t in (_T_DOUBLE, _T_FIXED64, _T_SFIXED64):
        import struct
        return struct.unpack("<d" if t == _T_DOUBLE else "<Q" if t == _T_FIXED64 else "<q", v)[0]
    if t in (_T_FLOAT, _T_FIXED32, _T_SFIXED32):
        import struct
        return struct.unpack("<f" if t == _T_FLOAT else "<I" if t == _T_FIXED32 else "<i", v)[0]
    raise ProtobufError(f"unsupported field type {t}")


def _special(name: str, buf: bytes, sch: dict):
    """The JSON form of types with custom JSON marshalling; NotImplemented for ordinary messages."""
    if name in (_META + "Time", _META + "MicroTime"):
        secs = nanos = 0
        for n, _w, v in _fields(buf):
            if n == 1:
                secs = _signed(v, 64)
            elif n == 2:
                nanos = v
        return _rfc3339(secs, nanos, micro=name.endswith("MicroTime"))
    if name == ".k8s.io.apimachinery.pkg.api.resource.Quantity":
        return next((v.decode() for n, _w, v in _fields(buf) if n == 1), "0")
    if name == ".k8s.io.apimachinery.pkg.util.intstr.IntOrString":
        typ, iv, sv = 0, 0, ""
        for n, _w, v in _fields(buf):
            if n == 1:
                typ = v
            elif n == 2:
                iv = _signed(v, 64)
            elif n == 3:
                sv = v.decode()
        return sv if typ == 1 else iv
    if name == ".k8s.io.apimachinery.pkg.runtime.RawExtension":
        raw = next((v for n, _w, v in _fields(buf) if n == 1), b"")
        return json.loads(raw) if raw else None
    if name == _META + "Duration":
        ns = next((_signed(v, 64) for n, _w, v in _fields(buf) if n == 1), 0)
        return f"{ns / 1e9:g}s"
    if name == _META + "FieldsV1":
        raw = next((v for n, _w, v in _fields(buf) if n == 1), b"")
        return json.loads(raw) if raw else {}
    return NotImplemented


def decode_message(name: str, buf: bytes, sch: dict):
    special = _special(name, buf, sch)
    if special is not NotImplemented:
        return special
    msg = sch.get(name)
    if msg is None:
        raise ProtobufError(f"unknown protobuf message {name}")
    out: dict = {}
    for num, wt, v in _fields(buf):
        f = msg.fields.get(num)
        if f is None:
            continue
        if f.type == _T_MESSAGE:
            sub = sch.get(f.type_name)
            if sub is not None and sub.map_entry:
                key = val = None
                kf, vf = sub.fields.get(1), sub.fields.get(2)
                for en, ew, ev in _fields(v):
                    if en == 1:
                        key = _scalar(kf, ew, ev)
                    elif en == 2:
                        val = decode_message(vf.type_name, ev, sch) if vf.type == _T_MESSAGE else _scalar(vf, ew, ev)
                if val is None and vf is not None:
                    val = "" if vf.type in (_T_STRING, _T_BYTES) else {} if vf.type == _T_MESSAGE else 0
                out.setdefault(f.name, {})[key] = val
                continue
            value = decode_message(f.type_name, v, sch)
            if f.inline and isinstance(value, dict):
                out.update(value)
                continue
        elif wt == 2 and f.type not in (_T_STRING, _T_BYTES):
            vals = []                # packed repeated scalars
            i = 0
            while i < len(v):
                x, i = _varint(v, i)
                vals.append(_scalar(f, 0, x))
            out.setdefault(f.name, []).extend(vals)
            continue
        else:
            value = _scalar(f, wt, v)
        if f.repeated:
            out.setdefault(f.name, []).append(value)
        elif value is None or (value == "" and f.type == _T_STRING) or (f.name in _OMIT_ZERO and not value):
            out.pop(f.name, None)
        else:
            out[f.name] = value
    return out


def _package(api_version: str) -> str:
    if "/" not in api_version:
        return f".k8s.io.api.core.{api_version}."
    group, version = api_version.split("/", 1)
    return f".k8s.io.api.{group.split('.')[0]}.{version}."


def decode(body: bytes, kubectl: str = "kubectl") -> dict:
    """A `k8s\\0` + runtime.Unknown envelope → the object as JSON-shaped dict."""
    if not body.startswith(MAGIC):
        raise ProtobufError("the body does not start with the Kubernetes protobuf prefix")
    api_version = kind = ""
    raw = b""
    for n, _w, v in _fields(body[len(MAGIC):]):
        if n == 1:
            for tn, _tw, tv in _fields(v):
                if tn == 1:
                    api_version = tv.decode()
                elif tn == 2:
                    kind = tv.decode()
        elif n == 2:
            raw = v
    if not kind:
        raise ProtobufError("the protobuf envelope names no kind")
    obj = decode_message(_package(api_version) + kind, raw, schema(kubectl))
    return {"apiVersion": api_version, "kind": kind} | obj
