"""External Secrets Operator stand-in: syncs ExternalSecrets (v1 and v1beta1 are one resource in the
store) from their SecretStore/ClusterSecretStore. Providers: `gcpsm` (the GCP emulator, over HTTP
with a bearer token) and `aws` (`ParameterStore` / `SecretsManager` on moto, via boto3)."""
import base64
import hashlib
import http.client
import json
import re
import select
import threading
import time
from urllib.parse import quote, unquote, urlsplit

from .. import conversion, resources
from ..store import clone
from .base import Controller, controller_of, now_iso, owner_ref, set_status

RESYNC = 3.0  # seconds; a shorter refreshInterval than the ExternalSecret's is used (documented)
_VERSION_PATH = re.compile(r"^projects/([^/]+)/secrets/([^/:]+)/versions/([^/:]+)$")
_GRPC = {"NOT_FOUND": "NotFound", "PERMISSION_DENIED": "PermissionDenied", "UNAUTHENTICATED": "Unauthenticated",
         "FAILED_PRECONDITION": "FailedPrecondition", "INVALID_ARGUMENT": "InvalidArgument",
         "RESOURCE_EXHAUSTED": "ResourceExhausted", "UNAVAILABLE": "Unavailable", "INTERNAL": "Internal"}


class SyncError(Exception):
    """A sync failure with the message ESO would report."""


def _duration(s) -> float | None:
    """Go duration ("1h", "30m", "15s", "0") → seconds."""
    if s is None:
        return None
    total, found = 0.0, False
    for num, unit in re.findall(r"(\d+(?:\.\d+)?)(h|ms|m|s)", str(s)):
        found = True
        total += float(num) * {"h": 3600, "m": 60, "s": 1, "ms": 0.001}[unit]
    if not found and str(s).strip().isdigit():
        return float(s)
    return total if found else None


def _property(value: str, prop: str | None, key: str) -> str:
    if not prop:
        return value
    try:
        cur = json.loads(value)
    except ValueError:
        raise SyncError(f"key {prop} does not exist in secret {key}")
    for part in prop.split("."):
        if isinstance(cur, dict) and part in cur:
            cur = cur[part]
        else:
            raise SyncError(f"key {prop} does not exist in secret {key}")
    return cur if isinstance(cur, str) else json.dumps(cur)


def _idle_and_open(conn: http.client.HTTPConnection) -> bool:
    """Whether a kept-alive connection can carry the next request: not connected yet, or connected
    with nothing to read (a readable idle socket means the server closed it or sent garbage)."""
    if conn.sock is None:
        return True
    try:
        readable, _, _ = select.select([conn.sock], [], [], 0)
    except (OSError, ValueError):
        return False
    return not readable


class ESOController(Controller):
    """See module doc."""

    name = "eso"
    resync = RESYNC
    workers = 4  # provider calls wait on the network: keep up with many ExternalSecrets at once

    def __init__(self, store, ctx):
        super().__init__(store, ctx)
        self.synced: dict = {}  # key -> (generation, meta hash, monotonic time of last fetch)
        self._boto = {}
        self._boto_lock = threading.Lock()  # boto3's default session is not safe to share while creating clients
        self._gcp_lock = threading.Lock()
        self._gcp_conns: dict = {}          # worker thread id → its HTTP connection to the GCP emulator
        self._gcp_answers: dict = {}        # (secret version path, token) → (secret's stamp, value)
        self._reads = threading.local()     # .seen: what the running sync read (see _still_quiet)
        self._quiet: dict = {}              # key → what its last sync read, when that sync changed nothing

    # keys: (ns, name) of ExternalSecrets
    def keys_for(self, event, obj):
        kind = obj.get("kind")
        md = obj["metadata"]
        if kind == "ExternalSecret":
            if event == "DELETED":
                self.synced.pop((md.get("namespace"), md["name"]), None)
                self._quiet.pop((md.get("namespace"), md["name"]), None)
                return []
            return [(md.get("namespace"), md["name"])]
        if kind in ("ClusterSecretStore", "SecretStore"):
            if event != "DELETED":
                self._validate_store(obj)
            keys = self.all_keys()
            for k in keys:
                self.synced.pop(k, None)
            return keys
        if kind == "Secret":
            ref = controller_of(obj)
            if ref and ref.get("kind") == "ExternalSecret":
                k = (md.get("namespace"), ref["name"])
                if event == "DELETED" or not self._data_matches(obj):
                    self.synced.pop(k, None)
                return [k]
        return []

    def start(self) -> None:
        for kind in ("ClusterSecretStore", "SecretStore"):
            for st in self.store.list(kind):
                self._validate_store(st)
        super().start()

    def all_keys(self):
        return self.store.keys("ExternalSecret")

    def _validate_store(self, st: dict) -> None:
        prov = (st.get("spec") or {}).get("provider") or {}
        ok = bool(set(prov) & {"gcpsm", "aws"})
        cond = {"type": "Ready", "status": "True" if ok else "False",
                "reason": "Valid" if ok else "InvalidProviderConfig",
                "message": "store validated" if ok else
                f"unsupported provider in the sandbox: {', '.join(prov) or 'none'} (gcpsm and aws only)"}

        def upd(o):
            cur = (o["status"].get("conditions") or [{}])[0]
            if {k: cur.get(k) for k in ("type", "status", "reason", "message")} != cond:
                o["status"]["conditions"] = [dict(cond, lastTransitionTime=now_iso())]
                o["status"]["capabilities"] = "ReadWrite"
        set_status(self.store, st["kind"], st["metadata"].get("namespace"), st["metadata"]["name"], upd)

    def _data_matches(self, secret: dict) -> bool:
        ann = (secret["metadata"].get("annotations") or {}).get("reconcile.external-secrets.io/data-hash")
        return ann == self._hash(secret.get("data") or {})

    @staticmethod
    def _hash(data) -> str:
        return hashlib.md5(json.dumps(data, sort_keys=True).encode()).hexdigest()

    def reconcile(self, key, forced):
        if forced and self._still_quiet(key):
            return
        self._reads.seen = []
        wrote = None
        try:
            wrote = self._reconcile(key, forced)
        finally:
            seen, self._reads.seen = self._reads.seen, None
            if wrote is False and seen is not None:
                self._quiet[key] = tuple(seen)
            else:
                self._quiet.pop(key, None)

    def _read(self, kind: str, ns: str | None, name: str) -> dict | None:
        """store.get, noting the object's resourceVersion among what this sync read."""
        obj = self.store.get(kind, ns, name)
        self._note((kind, ns, name, obj["metadata"]["resourceVersion"] if obj is not None else None))
        return obj

    def _note(self, what) -> None:
        """Note one input of this sync (None: one that cannot be checked again cheaply)."""
        seen = getattr(self._reads, "seen", None)
        if seen is not None:
            if what is None:
                self._reads.seen = None
            else:
                seen.append(what)

    def _still_quiet(self, key) -> bool:
        """True when the last sync of `key` changed nothing (no write of the Secret or the status) and
        nothing it read has changed since: the same objects at the same resourceVersions, the
        emulator's secrets at the same stamps, no CRD changed, no gcp fault rule active. A resync
        would then do exactly what that sync did — nothing — so it is not run again."""
        seen = self._quiet.get(key)
        if seen is None:
            return False
        for what in seen:
            if what[0] == "gcp":
                if self._gcp_stamp(what[1]) != what[2]:
                    return False
            elif what[0] == "crds":
                if self.store.kind_version("CustomResourceDefinition") != what[1]:
                    return False
            elif self.store.version_of(what[0], what[1], what[2]) != what[3]:
                return False
        return True

    def _reconcile(self, key, forced) -> bool | None:
        """One sync; True when it wrote (the Secret or the status), False when it changed nothing,
        None when it stopped early."""
        ns, name = key
        es = self._read("ExternalSecret", ns, name)
        if es is None:
            return None
        self._note(("crds", self.store.kind_version("CustomResourceDefinition")))
        try:   # the operator reads v1 through the API server: a broken conversion stops it, as for real
            conversion.read_as(self.store, resources.BY_KIND["ExternalSecret"], dict(es), "v1")
        except conversion.ConversionError:
            return None
        md, spec = es["metadata"], es.get("spec") or {}
        meta_hash = self._hash([md.get("labels"), md.get("annotations")])
        gen = md.get("generation", 0)
        last = self.synced.get(key)
        interval = _duration(spec.get("refreshInterval", "1h"))
        if last and last[0] == gen and last[1] == meta_hash:
            if not forced or interval == 0:
                return None
        try:
            data = self._fetch(es)
            target = self._write_target(es, data)
        except SyncError as e:
            self.synced.pop(key, None)
            self._status(es, False, str(e), None)
            return None
        self.synced[key] = (gen, meta_hash, time.monotonic())
        stored = self._status(es, True, "secret synced", target, f"{gen}-{meta_hash}")
        return bool(target.get("_changed")) or stored is None or \
            stored["metadata"]["resourceVersion"] != es["metadata"]["resourceVersion"]

    def _status(self, es, ok, message, target, synced_rv=None):
        cond = {"type": "Ready", "status": "True" if ok else "False",
                "reason": "SecretSynced" if ok else "SecretSyncedError", "message": message}

        def upd(o):
            st = o["status"]
            cur = (st.get("conditions") or [{}])[0]
            changed = {k: cur.get(k) for k in cond} != cond
            if changed:
                st["conditions"] = [dict(cond, lastTransitionTime=now_iso())]
            if ok:
                if changed or target.get("_changed") or st.get("syncedResourceVersion") != synced_rv \
                        or "refreshTime" not in st:
                    st["refreshTime"] = now_iso()
                st["syncedResourceVersion"] = synced_rv
                st["binding"] = {"name": target["metadata"]["name"]}
        return set_status(self.store, "ExternalSecret", es["metadata"].get("namespace"), es["metadata"]["name"], upd)

    # -- provider access
    def _store_of(self, es) -> dict:
        ref = (es.get("spec") or {}).get("secretStoreRef") or {}
        kind = ref.get("kind") or "SecretStore"
        name = ref.get("name", "")
        ns = es["metadata"].get("namespace")
        st = self._read(kind, None if kind == "ClusterSecretStore" else ns, name)
        if st is None:
            raise SyncError(f'could not get {kind} "{name}", {kind}.external-secrets.io "{name}" not found')
        return st

    def _secret_value(self, ns: str, ref: dict, what: str) -> str:
        sns = ref.get("namespace") or ns
        sec = self._read("Secret", sns, ref.get("name", ""))
        if sec is None or ref.get("key") not in (sec.get("data") or {}):
            raise SyncError(f"could not get provider client: cannot get Kubernetes secret \"{ref.get('name')}\" "
                            f"from namespace \"{sns}\" ({what})")
        return base64.b64decode(sec["data"][ref["key"]]).decode()

    def _fetch(self, es) -> dict[str, str]:
        st = self._store_of(es)
        prov = (st.get("spec") or {}).get("provider") or {}
        ns = es["metadata"].get("namespace")
        spec = es.get("spec") or {}
        if "gcpsm" in prov:
            get = self._gcp_getter(prov["gcpsm"], ns)
        elif "aws" in prov:
            get = self._aws_getter(prov["aws"], ns)
        else:
            raise SyncError(f"could not get provider client: unsupported provider in the sandbox: {', '.join(prov)}")
        out: dict[str, str] = {}
        for item in spec.get("dataFrom") or []:
            ext = item.get("extract")
            if not ext:
                raise SyncError("error processing spec.dataFrom: only `extract` is supported by the sandbox")
            raw = self._wrap(get, ext.get("key", ""), ext.get("version"))
            raw = _property(raw, ext.get("property"), ext.get("key", ""))
            try:
                obj = json.loads(raw)
            except ValueError:
                obj = None
            if not isinstance(obj, dict):
                raise SyncError(f"error processing spec.dataFrom[0].extract, err: unable to unmarshal secret "
                                f"{ext.get('key')}: not a JSON object")
            for k, v in obj.items():
                out[k] = v if isinstance(v, str) else json.dumps(v)
        for item in spec.get("data") or []:
            rr = item.get("remoteRef") or {}
            raw = self._wrap(get, rr.get("key", ""), rr.get("version"))
            out[item.get("secretKey", "")] = _property(raw, rr.get("property"), rr.get("key", ""))
        return out

    @staticmethod
    def _wrap(get, key, version):
        try:
            return get(key, version)
        except SyncError as e:
            raise SyncError(f"could not get secret data from provider: key \"{key}\": {e}")

    def _gcp_getter(self, cfg: dict, ns: str):
        project = cfg.get("projectID") or ""
        token = self.ctx.gcp_token
        sref = ((cfg.get("auth") or {}).get("secretRef") or {}).get("secretAccessKeySecretRef")
        if sref:
            raw = self._secret_value(ns, sref, "service account key")
            try:
                token = json.loads(raw).get("sandbox_access_token") or token
            except ValueError:
                raise SyncError("could not get provider client: unable to parse the service account key "
                                f"in secret \"{sref.get('name')}\" as JSON")

        def get(key: str, version) -> str:
            ver = str(version or "latest")
            if key.startswith("projects/"):
                path = key if "/versions/" in key else f"{key}/versions/{ver}"
            else:
                path = f"projects/{project}/secrets/{quote(key, safe='')}/versions/{quote(ver, safe='')}"
            reuse = (path, token)
            stamp = self._gcp_stamp(path)
            self._note(("gcp", path, stamp) if stamp is not None else None)
            if stamp is not None:
                last = self._gcp_answers.get(reuse)
                if last is not None and last[0] == stamp:
                    return last[1]
            try:
                code, raw = self._gcp_get(f"/v1/{path}:access", {"Authorization": f"Bearer {token}"})
                body = json.loads(raw) if code == 200 else None
            except (OSError, http.client.HTTPException, ValueError) as e:
                raise SyncError("unable to access Secret from SecretManager Client: rpc error: code = "
                                f"Unavailable desc = {e}")
            if code != 200:
                try:
                    err = json.loads(raw).get("error", {})
                except (ValueError, AttributeError):
                    err = {"status": "UNKNOWN", "message": f"HTTP {code}"}
                raise SyncError("unable to access Secret from SecretManager Client: rpc error: code = "
                                f"{_GRPC.get(err.get('status'), 'Unknown')} desc = {err.get('message')}")
            value = base64.b64decode(body["payload"]["data"]).decode("utf-8", errors="replace")
            if stamp is not None:
                if len(self._gcp_answers) > 100_000:
                    self._gcp_answers.clear()
                self._gcp_answers[reuse] = (stamp, value)
            return value
        return get

    def _gcp_stamp(self, path: str) -> int | None:
        """The emulator's change stamp of the secret a version path names, when the answer the
        emulator last gave for it may be used again instead of asking again (the same request,
        the secret unchanged since, no "gcp" fault rule that could fire); None when the fetch must
        be sent. The periodic resync refetches every ExternalSecret every 3 s: at a thousand
        ExternalSecrets these unchanged answers were most of the emulator's and the controller's work."""
        m = _VERSION_PATH.match(path)
        emu = getattr(self.ctx, "gcp", None)
        if m is None or emu is None or urlsplit(self.ctx.gcp_endpoint).port != emu.port:
            return None
        if emu.faults is not None and emu.faults.armed("gcp"):
            return None
        return emu.state.stamp(unquote(m.group(1)), unquote(m.group(2)))

    def _gcp_connection(self) -> http.client.HTTPConnection:
        """This worker thread's connection to the GCP emulator, kept open from one fetch to the next
        (a new TCP connection per fetch cost more than the fetch). One the server has closed while
        it was idle (or that has anything unread) is replaced before it is used."""
        u = urlsplit(self.ctx.gcp_endpoint)
        where = (u.hostname or "127.0.0.1", u.port or 80)
        me = threading.get_ident()
        with self._gcp_lock:
            conn = self._gcp_conns.get(me)
        if conn is not None and ((conn.host, conn.port) != where or not _idle_and_open(conn)):
            conn.close()
            conn = None
        if conn is None:
            conn = http.client.HTTPConnection(*where, timeout=10)
            with self._gcp_lock:
                self._gcp_conns[me] = conn
        return conn

    def stop(self) -> None:
        super().stop()
        with self._gcp_lock:
            conns, self._gcp_conns = list(self._gcp_conns.values()), {}
        for conn in conns:
            conn.close()

    def _gcp_get(self, path: str, headers: dict) -> tuple[int, bytes]:
        """GET on the GCP emulator over this worker's connection: (status, body). A failed exchange
        closes the connection (the next one opens a new one) and raises; it is not retried, so an
        injected fault is seen as it would be on a new connection."""
        conn = self._gcp_connection()
        try:
            conn.request("GET", urlsplit(self.ctx.gcp_endpoint).path.rstrip("/") + path,
                         headers=dict(headers, **{"User-Agent": "sandbox-eso"}))
            resp = conn.getresponse()
            return resp.status, resp.read()
        except BaseException:
            conn.close()
            raise

    def _aws_getter(self, cfg: dict, ns: str):
        import boto3
        import botocore.exceptions
        self._note(None)    # what moto answers is not stamped: every resync asks again
        service = cfg.get("service", "SecretsManager")
        region = cfg.get("region") or self.ctx.aws_region
        auth = (cfg.get("auth") or {}).get("secretRef") or {}
        kid, secret = self.ctx.aws_access_key, self.ctx.aws_secret_key
        if auth.get("accessKeyIDSecretRef"):
            kid = self._secret_value(ns, auth["accessKeyIDSecretRef"], "access key id")
        if auth.get("secretAccessKeySecretRef"):
            secret = self._secret_value(ns, auth["secretAccessKeySecretRef"], "secret access key")
        ckey = (service, region, kid, secret)
        with self._boto_lock:
            if ckey not in self._boto:
                self._boto[ckey] = boto3.client(
                    "ssm" if service == "ParameterStore" else "secretsmanager", region_name=region,
                    endpoint_url=self.ctx.aws_endpoint, aws_access_key_id=kid, aws_secret_access_key=secret)
            client = self._boto[ckey]

        def get(key: str, version) -> str:
            try:
                if service == "ParameterStore":
                    name = f"{key}:{version}" if version else key
                    return client.get_parameter(Name=name, WithDecryption=True)["Parameter"]["Value"]
                if service == "SecretsManager":
                    kw = {"SecretId": key}
                    if version and str(version).startswith("uuid/"):
                        kw["VersionId"] = str(version)[5:]
                    else:
                        kw["VersionStage"] = version or "AWSCURRENT"
                    r = client.get_secret_value(**kw)
                    return r.get("SecretString") or base64.b64decode(r.get("SecretBinary") or b"").decode()
                raise SyncError(f"unsupported AWS service {service!r} (ParameterStore, SecretsManager)")
            except botocore.exceptions.ClientError as e:
                code = e.response.get("Error", {}).get("Code", "")
                if code in ("ParameterNotFound", "ResourceNotFoundException", "ParameterVersionNotFound"):
                    raise SyncError("Secret does not exist")
                raise SyncError(str(e))
            except botocore.exceptions.BotoCoreError as e:
                raise SyncError(str(e))
        return get

    # -- target Secret
    def _write_target(self, es, data: dict[str, str]) -> dict:
        spec = es.get("spec") or {}
        tgt = spec.get("target") or {}
        name = tgt.get("name") or es["metadata"]["name"]
        ns = es["metadata"].get("namespace")
        policy = tgt.get("creationPolicy", "Owner")
        tpl = tgt.get("template") or {}
        enc = {k: base64.b64encode(v.encode()).decode() for k, v in data.items()}
        existing = self._read("Secret", ns, name)
        if policy == "None":
            return existing or {"metadata": {"name": name}}
        if policy == "Merge":
            if existing is None:
                raise SyncError(f"could not update Secret: secret \"{name}\" not found (creationPolicy Merge)")
            obj = clone(existing)
            obj["data"] = dict(obj.get("data") or {}, **enc)
        else:
            obj = clone(existing) if existing else {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name, "namespace": ns}}
            ref = controller_of(obj)
            if existing is not None and ref and ref.get("uid") != es["metadata"]["uid"]:
                raise SyncError(f"could not update Secret: target is owned by another ExternalSecret {ref.get('name')}")
            if existing is not None and not ref and policy == "Owner" and not \
                    (obj["metadata"].get("labels") or {}).get("reconcile.external-secrets.io/managed"):
                raise SyncError(f"could not update Secret: secret \"{name}\" already exists and is not managed by "
                                "this ExternalSecret")
            obj["data"] = enc
            obj["type"] = tpl.get("type") or obj.get("type") or "Opaque"
            if policy == "Owner":
                obj["metadata"]["ownerReferences"] = [owner_ref(es, es.get("apiVersion") or "external-secrets.io/v1")]
        md = obj["metadata"]
        labels = dict(md.get("labels") or {})
        labels.update((tpl.get("metadata") or {}).get("labels") or {})
        labels["reconcile.external-secrets.io/managed"] = "true"
        labels["reconcile.external-secrets.io/created-by"] = hashlib.sha256(
            es["metadata"]["uid"].encode()).hexdigest()[:63 - 1]
        md["labels"] = labels
        ann = dict(md.get("annotations") or {})
        ann.update((tpl.get("metadata") or {}).get("annotations") or {})
        ann["reconcile.external-secrets.io/data-hash"] = self._hash(obj.get("data") or {})
        md["annotations"] = ann
        if existing is None:
            out = self.store.create(obj)
            self._collect_if_orphaned(es, out)
            out["_changed"] = True
            return out
        if obj == existing:
            return existing
        out = self.store.update(obj)
        out["_changed"] = True
        return out

    def _collect_if_orphaned(self, es, secret) -> None:
        """The ExternalSecret may have been deleted while this sync ran: its owned Secret, created
        after the owner's deletion, would never be collected by the store. The real garbage collector
        deletes dependents whose owner is gone; do the same at once."""
        live = self.store.get("ExternalSecret", es["metadata"].get("namespace"), es["metadata"]["name"])
        if live is None or live["metadata"].get("uid") != es["metadata"].get("uid"):
            ref = controller_of(secret)
            if ref and ref.get("uid") == es["metadata"].get("uid"):
                self.store.delete("Secret", secret["metadata"].get("namespace"), secret["metadata"]["name"])
