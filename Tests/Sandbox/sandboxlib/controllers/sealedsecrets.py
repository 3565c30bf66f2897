"""SealedSecrets controller stand-in (bitnami-labs/sealed-secrets), with real crypto from Python
`cryptography`, written from the project's description of the format:

- Key: on start, the newest Secret in namespace `sealed-secrets` labelled
  `sealedsecrets.bitnami.com/sealed-secrets-key=active` (type kubernetes.io/tls, `tls.crt`/`tls.key`),
  or a new 4096-bit RSA key with a self-signed certificate (CN sealed-secret, 10 years) stored as
  `sealed-secrets-keyXXXXX`. Every labelled key is tried when unsealing, newest first.
- Certificate: served at `/v1/cert.pem` by a loopback HTTP server that is the backend of Service
  `sealed-secrets/sealed-secrets-controller` (port `http` 8080), so it is reachable through the API
  server's service proxy as kubeseal fetches it.
- Unsealing: each `spec.encryptedData` value is base64 of `2-byte big-endian length || RSA-OAEP
  (SHA-256, label) of a 32-byte session key || AES-256-GCM (zero 12-byte nonce) ciphertext+tag`;
  the label is `namespace/name` (strict), `namespace` (annotation
  `sealedsecrets.bitnami.com/namespace-wide: "true"`) or empty (`.../cluster-wide: "true"`), read
  from the SealedSecret's own annotations.
- The Secret gets `spec.template`'s metadata and type, the SealedSecret's name and namespace, and a
  controller ownerReference to the SealedSecret (unless the template is annotated
  `sealedsecrets.bitnami.com/skip-set-owner-references: "true"`). An existing Secret is only taken
  over when it is already controlled by this SealedSecret or annotated
  `sealedsecrets.bitnami.com/managed: "true"` (or `.../patch: "true"`, which merges); otherwise the
  status says `failed update: Resource "NAME" already exists and is not managed by SealedSecret`.
- Status: one condition `Synced` (True with no message, or False with the error), its
  lastUpdateTime/lastTransitionTime, and `observedGeneration`, written only when they change.
"""
import base64
import copy
import datetime
import http.server
import threading

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.x509.oid import NameOID

from .base import Controller, controller_of, is_conflict, now_iso, owner_ref, rand_suffix, set_status

NAMESPACE = "sealed-secrets"
SERVICE = "sealed-secrets-controller"
KEY_LABEL = "sealedsecrets.bitnami.com/sealed-secrets-key"
ANN = "sealedsecrets.bitnami.com/"
API_VERSION = "bitnami.com/v1alpha1"


class UnsealError(Exception):
    """An unseal failure with the controller's message."""


def label_for(namespace: str, name: str, annotations: dict) -> bytes:
    """The RSA-OAEP label of the scope the annotations declare."""
    if annotations.get(ANN + "cluster-wide") == "true":
        return b""
    if annotations.get(ANN + "namespace-wide") == "true":
        return namespace.encode()
    return f"{namespace}/{name}".encode()


def open_value(private_key, ciphertext: bytes, label: bytes) -> bytes:
    """Opens one sealed value with one key; raises ValueError (or a cryptography error) on failure."""
    if len(ciphertext) < 2:
        raise ValueError("SealedSecret data is too short")
    n = int.from_bytes(ciphertext[:2], "big")
    if len(ciphertext) < n + 2:
        raise ValueError("SealedSecret data is too short")
    session_key = private_key.decrypt(ciphertext[2:2 + n], padding.OAEP(
        mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=label or None))
    return AESGCM(session_key).decrypt(bytes(12), ciphertext[2 + n:], None)


def seal_value(public_key, plaintext: bytes, label: bytes) -> bytes:
    """The controller-side sealing (what kubeseal does), used by the sandbox tests."""
    import os
    session_key = os.urandom(32)
    wrapped = public_key.encrypt(session_key, padding.OAEP(
        mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=label or None))
    return len(wrapped).to_bytes(2, "big") + wrapped + AESGCM(session_key).encrypt(bytes(12), plaintext, None)


def new_key_pair(bits: int = 4096):
    """A private key and its self-signed certificate, as the controller makes them."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sealed-secret"),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "sealed-secret")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=1))
            .not_valid_after(now + datetime.timedelta(days=3650))
            .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False, key_encipherment=True,
                                         data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                         crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    return key, cert


class _CertHandler(http.server.BaseHTTPRequestHandler):
    ctl = None  # set per server class

    def do_GET(self):  # noqa: N802 - http.server API
        path = self.path.split("?", 1)[0]
        if path == "/v1/cert.pem":
            body, ctype = self.ctl.cert_pem(), "application/x-pem-file"
        elif path == "/healthz":
            body, ctype = b"ok", "text/plain; charset=utf-8"
        else:
            body, ctype = b"404 page not found\n", "text/plain; charset=utf-8"
            self.send_response(404)
            self._finish(body, ctype)
            return
        self.send_response(200)
        self._finish(body, ctype)

    def _finish(self, body: bytes, ctype: str):
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class SealedSecretsController(Controller):
    """See module doc."""

    name = "sealedsecrets"
    resync = 0.0

    def __init__(self, store, ctx, services, key_bits: int = 4096):
        super().__init__(store, ctx)
        self.services = services
        self.key_bits = key_bits
        self.keys: list = []          # private keys, newest first
        self._cert = b""
        self._server = None

    # -- setup
    def start(self) -> None:
        self._ensure_objects()
        self._load_keys()
        handler = type("Handler", (_CertHandler,), {"ctl": self})
        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, name="sealed-secrets-http", daemon=True).start()
        self.services.register_static(NAMESPACE, SERVICE, self._server.server_address[1])
        super().start()

    def stop(self) -> None:
        super().stop()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def _ensure_objects(self):
        if self.store.get("Namespace", None, NAMESPACE) is None:
            self.store.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}})
        if self.store.get("Service", NAMESPACE, SERVICE) is None:
            self.store.create({"apiVersion": "v1", "kind": "Service",
                               "metadata": {"name": SERVICE, "namespace": NAMESPACE, "labels": {"name": SERVICE}},
                               "spec": {"selector": {"name": SERVICE},
                                        "ports": [{"name": "http", "port": 8080, "targetPort": 8080,
                                                   "protocol": "TCP"}]}})

    def _load_keys(self):
        found = self.store.list("Secret", NAMESPACE, f"{KEY_LABEL}=active")
        if not found:
            key, cert = new_key_pair(self.key_bits)
            self.store.create({
                "apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/tls",
                "metadata": {"name": "sealed-secrets-key" + rand_suffix(), "namespace": NAMESPACE,
                             "labels": {KEY_LABEL: "active"}},
                "data": {"tls.crt": base64.b64encode(cert.public_bytes(serialization.Encoding.PEM)).decode(),
                         "tls.key": base64.b64encode(key.private_bytes(
                             serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                             serialization.NoEncryption())).decode()}})
            found = self.store.list("Secret", NAMESPACE, f"{KEY_LABEL}=active")
        found.sort(key=lambda s: s["metadata"].get("creationTimestamp", ""), reverse=True)
        self.keys = [serialization.load_pem_private_key(base64.b64decode(s["data"]["tls.key"]), None) for s in found]
        self._cert = base64.b64decode(found[0]["data"]["tls.crt"])

    @property
    def port(self) -> int | None:
        """The loopback port of the /v1/cert.pem server (None before start)."""
        return self._server.server_address[1] if self._server is not None else None

    def cert_pem(self) -> bytes:
        """The active certificate (PEM), what `/v1/cert.pem` serves."""
        return self._cert

    # -- queue
    def keys_for(self, event, obj):
        kind = obj.get("kind")
        md = obj["metadata"]
        if kind == "SealedSecret":
            return [] if event == "DELETED" else [(md.get("namespace"), md["name"])]
        if kind == "Secret":
            # A change to a Secret a SealedSecret manages (or may adopt) is reconciled, as the
            # real controller's Secret informer does.
            ref = controller_of(obj)
            if ref and ref.get("kind") == "SealedSecret":
                return [(md.get("namespace"), ref["name"])]
            if (md.get("annotations") or {}).get(ANN + "managed") == "true" and \
                    self.store.get("SealedSecret", md.get("namespace"), md["name"]) is not None:
                return [(md.get("namespace"), md["name"])]
        return []

    def all_keys(self):
        return self.store.keys("SealedSecret")

    # -- work
    def reconcile(self, key, forced):
        ns, name = key
        ss = self.store.get("SealedSecret", ns, name)
        if ss is None:
            return      # the garbage collector removes the Secrets it owned
        try:
            self._unseal_into_secret(ss)
            error = None
        except UnsealError as e:
            error = str(e)
        self._set_status(ss, error)

    def unseal(self, ss: dict) -> dict:
        """The Secret `ss` unseals to (raises UnsealError with the controller's message)."""
        md = ss["metadata"]
        spec = ss.get("spec") or {}
        template = spec.get("template") or {}
        if spec.get("data") and not spec.get("encryptedData"):
            raise UnsealError("using deprecated 'data' field, use 'encryptedData' or flip the feature flag")
        label = label_for(md.get("namespace", ""), md["name"], md.get("annotations") or {})
        data, failed = {}, {}
        for k in sorted((spec.get("encryptedData") or {})):
            try:
                raw = base64.b64decode(spec["encryptedData"][k], validate=True)
            except ValueError as e:
                failed.setdefault(f"illegal base64 data: {e}", []).append(k)
                continue
            for priv in self.keys:
                try:
                    data[k] = base64.b64encode(open_value(priv, raw, label)).decode()
                    break
                except Exception:  # noqa: BLE001 - any failure means "this key cannot open it"
                    continue
            else:
                failed.setdefault("no key could decrypt secret", []).append(k)
        if template.get("data"):
            failed.setdefault("spec.template.data is not supported by the sandbox controller", []).extend(
                sorted(template["data"]))
        if failed:
            raise UnsealError("; ".join(f"{msg} ({', '.join(keys)})" for msg, keys in failed.items()))
        tmd = copy.deepcopy(template.get("metadata") or {})
        secret = {"apiVersion": "v1", "kind": "Secret", "type": template.get("type") or "Opaque",
                  "metadata": {"name": md["name"], "namespace": md.get("namespace")}, "data": data}
        for f in ("labels", "annotations"):
            if tmd.get(f):
                secret["metadata"][f] = tmd[f]
        if template.get("immutable") is not None:
            secret["immutable"] = template["immutable"]
        if (tmd.get("annotations") or {}).get(ANN + "skip-set-owner-references") != "true":
            ref = owner_ref(ss, API_VERSION)
            ref.pop("blockOwnerDeletion", None)
            secret["metadata"]["ownerReferences"] = [ref]
        return secret

    def _unseal_into_secret(self, ss: dict) -> None:
        new = self.unseal(ss)
        ns, name = ss["metadata"].get("namespace"), ss["metadata"]["name"]
        live = self.store.get("Secret", ns, name)
        if live is None:
            self.store.create(new)
            return
        ann = live["metadata"].get("annotations") or {}
        ref = controller_of(live)
        controlled = ref is not None and ref.get("uid") == ss["metadata"]["uid"]
        managed, patch = ann.get(ANN + "managed") == "true", ann.get(ANN + "patch") == "true"
        if not controlled and not managed and not patch:
            raise UnsealError(f'failed update: Resource "{name}" already exists and is not managed by SealedSecret')
        obj = copy.deepcopy(live)
        nmd = new["metadata"]
        if patch:
            obj["data"] = dict(obj.get("data") or {}, **new["data"])
            obj["metadata"]["labels"] = dict(obj["metadata"].get("labels") or {}, **(nmd.get("labels") or {}))
            obj["metadata"]["annotations"] = dict(ann, **(nmd.get("annotations") or {}))
            if managed and nmd.get("ownerReferences"):
                obj["metadata"]["ownerReferences"] = nmd["ownerReferences"]
        else:
            obj["data"] = new["data"]
            for f in ("labels", "annotations", "ownerReferences"):
                if nmd.get(f):
                    obj["metadata"][f] = nmd[f]
                else:
                    obj["metadata"].pop(f, None)
        obj["type"] = new["type"]
        if obj != live:
            try:
                self.store.update(obj)
            except Exception as e:  # noqa: BLE001 - the store's own message, as the real controller reports it
                if is_conflict(e):
                    raise       # changed meanwhile: the worker retries with the new object
                raise UnsealError(getattr(e, "message", str(e)))

    def _set_status(self, ss: dict, error: str | None) -> None:
        gen = ss["metadata"].get("generation", 1)

        def edit(obj):
            st = obj["status"]
            conds = st.setdefault("conditions", [])
            cond = next((c for c in conds if c.get("type") == "Synced"), None)
            if cond is None:
                cond = {"type": "Synced"}
                conds.append(cond)
            status = "True" if error is None else "False"
            if cond.get("status") == status and (cond.get("message") or None) == error and \
                    st.get("observedGeneration") == gen:
                return
            now = now_iso()
            if cond.get("status") != status:
                cond["lastTransitionTime"] = now
            cond["status"] = status
            cond["lastUpdateTime"] = now
            if error is None:
                cond.pop("message", None)
            else:
                cond["message"] = error
            st["observedGeneration"] = gen
        set_status(self.store, "SealedSecret", ss["metadata"].get("namespace"), ss["metadata"]["name"], edit)
