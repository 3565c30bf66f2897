"""The long-lived sandbox process: faults → Backends.start() → fixtures into the Store → API
server → controllers → wait_ready → DIR/kubeconfig, DIR/env (+ env.json), DIR/sandbox.json → ready.
SIGTERM stops everything (API server, then Backends.stop())."""

import base64
import glob
import json
import logging
import os
import shlex
import signal
import threading
import traceback

import yaml

from . import certs, generated, rbac, requestcount, resources
from .apiserver import VIEWER, APIServer
from .controllers.tokens import TokenSecretController
from .serviceaccounts import TokenIssuer
from .faults import FaultInjector
from .store import Store, StoreError
from .validation import validate

log = logging.getLogger("sandbox.daemon")

# Fixture objects are created in this order so that namespaces and definitions exist first.
_ORDER = {"Namespace": 0, "CustomResourceDefinition": 1, "ClusterSecretStore": 2, "SecretStore": 3,
          "ConfigMap": 4, "Secret": 4, "PersistentVolumeClaim": 5, "Service": 6}


class FixtureError(Exception):
    """A fixture that cannot be loaded; the message names the file."""


def repo_root() -> str:
    return os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))


def fixture_dirs(names: list) -> list:
    out = []
    for n in names:
        d = os.path.join(repo_root(), "fixtures", "clusters", n)
        if not os.path.isdir(d):
            raise FixtureError(f"no fixture {n!r}: {d} does not exist")
        out.append(d)
    return out


def load_objects(dirs: list, substitute) -> list:
    """All objects of the fixtures' objects/*.yaml, after placeholder substitution, in creation order."""
    objs = []
    for d in dirs:
        for path in sorted(glob.glob(os.path.join(d, "objects", "*.yaml")) + glob.glob(os.path.join(d, "objects", "*.yml"))):
            with open(path) as f:
                text = substitute(f.read())
            try:
                docs = [x for x in yaml.safe_load_all(text) if x]
            except yaml.YAMLError as e:
                raise FixtureError(f"{path}: {e}") from None
            for n, doc in enumerate(docs):
                if not isinstance(doc, dict) or doc.get("kind") not in resources.BY_KIND:
                    raise FixtureError(f"{path}: document {n + 1}: unknown kind {doc.get('kind') if isinstance(doc, dict) else doc!r}")
                objs.append((path, doc))
    objs.sort(key=lambda po: _ORDER.get(po[1]["kind"], 10))
    return objs


def generated_after_namespaces(objs: list) -> list:
    """Generated objects in creation order (Namespaces first), like objects/*.yaml."""
    return sorted(objs, key=lambda po: _ORDER.get(po[1]["kind"], 10))


def _write_private(path: str, text: str):
    fd = os.open(path + ".tmp", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.replace(path + ".tmp", path)


def kubeconfig(pki: certs.PKI, port: int) -> str:
    def b64(p):
        with open(p, "rb") as f:
            return base64.b64encode(f.read()).decode()
    cfg = {
        "apiVersion": "v1", "kind": "Config",
        "clusters": [{"name": "sandbox", "cluster": {"server": f"https://127.0.0.1:{port}",
                                                     "certificate-authority-data": b64(pki.ca_cert)}}],
        "users": [{"name": "admin", "user": {"client-certificate-data": b64(pki.admin_cert),
                                             "client-key-data": b64(pki.admin_key)}},
                  {"name": "viewer", "user": {"token": pki.viewer_token}}],
        "contexts": [{"name": "sandbox", "context": {"cluster": "sandbox", "user": "admin", "namespace": "default"}},
                     {"name": "sandbox-viewer", "context": {"cluster": "sandbox", "user": "viewer",
                                                            "namespace": "default"}}],
        "current-context": "sandbox",
        "preferences": {},
    }
    return yaml.safe_dump(cfg, sort_keys=False)


def env_file(env: dict) -> str:
    return "".join(f"export {k}={shlex.quote(str(v))}\n" for k, v in env.items())


def write_state(sandbox_dir: str, api: APIServer, backends, fixtures: list, last: dict | None) -> dict:
    """Write DIR/sandbox.json when its content changed; return the content."""
    info = backends.info() or {}
    pids = [os.getpid()] + [p for p in info.get("pids", []) if p != os.getpid()]
    ports = {"apiserver": api.port} | dict(info.get("ports") or {})
    state = {"pid": os.getpid(), "server": f"https://127.0.0.1:{api.port}", "ports": ports, "pids": pids,
             "services": info.get("services") or {}, "fixtures": fixtures}
    state |= {k: v for k, v in info.items() if k not in state}
    state["requests"] = requestcount.snapshot()
    if state != last:
        _write_private(os.path.join(sandbox_dir, "sandbox.json"), json.dumps(state, indent=2) + "\n")
    return state


def run(sandbox_dir: str, fixtures: list, ready_fd: int) -> int:
    """Run the sandbox until SIGTERM; report readiness (or the error) on ready_fd."""
    sandbox_dir = os.path.abspath(sandbox_dir)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    api = None
    backends = None
    tokens = None

    def report(msg: str):
        nonlocal ready_fd
        if ready_fd >= 0:
            try:
                os.write(ready_fd, msg.encode())
            finally:
                os.close(ready_fd)
                ready_fd = -1

    try:
        from .backends import Backends
        dirs = fixture_dirs(fixtures)
        faults = FaultInjector()
        pki = certs.create(os.path.join(sandbox_dir, "pki"))
        backends = Backends(sandbox_dir, dirs, faults)
        env = backends.start()
        store = Store()
        defaults_ns = {"apiVersion": "v1", "kind": "Namespace"}
        for ns in ("default", "kube-system", "kube-public"):
            store.create(defaults_ns | {"metadata": {"name": ns}})
        for obj in rbac.bootstrap_objects(VIEWER):
            store.create(obj)
        fixture_vars = generated.parse_vars(os.environ.get("SANDBOX_FIXTURE_VARS", "").split("\n"))
        for path, obj in load_objects(dirs, backends.substitute) + generated_after_namespaces(
                generated.generated_objects(dirs, fixture_vars, backends.substitute)):
            t = resources.BY_KIND[obj["kind"]]
            try:
                validate(t, obj)
                if t.kind == "Namespace" and store.get("Namespace", None, obj["metadata"]["name"]):
                    continue
                store.create(obj)
            except StoreError as e:
                raise FixtureError(f"{path}: {obj['kind']} {obj.get('metadata', {}).get('name')!r}: {e.message}") from None
        for t in resources.TYPES:
            if not t.builtin and store.get("CustomResourceDefinition", None, resources.crd_name(t)) is None:
                store.create(resources.crd_object(t))
        api = APIServer(store, faults, pki)
        with open(pki.ca_cert, "rb") as f:
            api.tokens = TokenIssuer(f.read())
        tokens = TokenSecretController(store, api.tokens)
        tokens.start()
        api.start()
        log.info("API server on https://127.0.0.1:%d", api.port)
        backends.start_controllers(store)
        api.service_backend = backends.services.backend   # the service proxy's way to a ready Pod
        backends.wait_ready(60.0)
        kc_path = os.path.join(sandbox_dir, "kubeconfig")
        _write_private(kc_path, kubeconfig(pki, api.port))
        full_env = {"KUBECONFIG": kc_path} | {k: str(v) for k, v in dict(env).items()}
        _write_private(os.path.join(sandbox_dir, "env"), env_file(full_env))
        _write_private(os.path.join(sandbox_dir, "env.json"), json.dumps(full_env, indent=2) + "\n")
        last = write_state(sandbox_dir, api, backends, fixtures, None)
        report("ready\n")
        # keep sandbox.json current (Services and postgres Pods come and go) until SIGTERM
        while not stop.wait(0.5):
            last = write_state(sandbox_dir, api, backends, fixtures, last)
        log.info("stopping")
        return 0
    except Exception as e:
        log.error("sandbox failed: %s", traceback.format_exc())
        report(f"error: {e}\n")
        return 1
    finally:
        if tokens is not None:
            tokens.stop()
        if api is not None:
            api.stop()
        if backends is not None:
            try:
                backends.stop()
            except Exception:
                log.exception("Backends.stop failed")
        log.info("stopped")
