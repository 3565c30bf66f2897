"""Backends of the sandbox: the main PostgreSQL server, moto_server (AWS SSM + Secrets Manager),
the GCP Secret Manager emulator, and the controllers (ESO, Jobs, workloads, Services)."""
import glob
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time

import yaml

from . import pgserver
from .gcp_emulator import GcpEmulator

AWS_REGION = "ap-northeast-2"
AWS_KEY_ID = "sandbox-access-key"
AWS_SECRET = "sandbox-secret-key"


class BackendError(Exception):
    """A backend could not be started or seeded."""


class Backends:
    """See SANDBOX-INTERFACE.md."""

    def __init__(self, sandbox_dir: str, fixture_dirs: list[str], faults):
        self.sandbox_dir = os.path.abspath(sandbox_dir)
        self.fixture_dirs = [os.path.abspath(d) for d in fixture_dirs]
        self.faults = faults
        os.makedirs(self.sandbox_dir, exist_ok=True)
        os.chmod(self.sandbox_dir, 0o755)
        self.storage_dir = self._storage_root()
        self.gcp_token = "sandbox-" + secrets.token_hex(16)
        self.pg_password = secrets.token_hex(12)
        self.pg: pgserver.PgServer | None = None
        self.moto: subprocess.Popen | None = None
        self.moto_port = 0
        self.gcp: GcpEmulator | None = None
        self.service_ports: dict[str, int] = {}
        self.controllers: list = []
        self.jobs = self.workloads = self.services = self.eso = self.rollouts = None
        self._images: list[tuple[str, str]] = []
        self._stopped = False
        self._load_images()

    # -- context used by the controllers
    @property
    def gcp_endpoint(self) -> str:
        return self.gcp.endpoint if self.gcp else ""

    @property
    def aws_endpoint(self) -> str:
        return f"http://127.0.0.1:{self.moto_port}"

    aws_region = AWS_REGION
    aws_access_key = AWS_KEY_ID
    aws_secret_key = AWS_SECRET

    def _load_images(self) -> None:
        for d in self.fixture_dirs:
            path = os.path.join(d, "images.yaml")
            if not os.path.exists(path):
                continue
            with open(path) as f:
                data = yaml.safe_load(f) or {}
            for prefix, prog in data.items():
                full = os.path.join(d, prog)
                if not os.path.exists(full):
                    raise BackendError(f"{path}: program {prog!r} for image prefix {prefix!r} does not exist")
                self._images.append((str(prefix), full))
        self._images.sort(key=lambda kv: -len(kv[0]))

    def image_program(self, image: str) -> str | None:
        """The program an image maps to (longest matching prefix in images.yaml), or None."""
        for prefix, prog in self._images:
            if image.startswith(prefix):
                return prog
        return None

    def image_prefixes(self) -> list[str]:
        """Every image prefix that images.yaml maps."""
        return [prefix for prefix, _ in self._images]

    def pvc_sql_files(self, ns: str, claims: list[str]) -> list[str]:
        """pvc-data/NS/PVC/*.sql of all fixtures for the given claims, sorted by name."""
        out = []
        for d in self.fixture_dirs:
            for claim in claims:
                out += glob.glob(os.path.join(d, "pvc-data", ns, claim, "*.sql"))
        return sorted(out, key=os.path.basename)

    # -- start
    def start(self) -> dict[str, str]:
        """Starts PostgreSQL, moto and the GCP emulator in parallel, seeds them, returns the env."""
        self.moto_port = pgserver.free_port()
        self.moto = subprocess.Popen(
            [shutil.which("moto_server") or "moto_server", "-H", "127.0.0.1", "-p", str(self.moto_port)],
            stdin=subprocess.DEVNULL, stdout=open(self._log("moto.log"), "wb"), stderr=subprocess.STDOUT,
            start_new_session=True)
        self.gcp = GcpEmulator(self.gcp_token, self.faults)
        self.gcp.start()
        errors: list[Exception] = []
        t = threading.Thread(target=self._start_pg, args=(errors,))
        t.start()
        try:
            self._wait_port(self.moto_port, 30, "moto_server", self._log("moto.log"))
        except Exception as e:  # noqa: BLE001 - reported after the pg thread joins
            errors.append(e)
        t.join()
        if not errors:
            try:
                self._seed_gcp()
                self._seed_aws()
            except Exception as e:  # noqa: BLE001
                errors.append(e)
        if errors:
            self.stop()
            raise errors[0]
        return self.env()

    def env(self) -> dict[str, str]:
        return {"PGHOST": "127.0.0.1", "PGPORT": str(self.pg.port), "PGUSER": "postgres",
                "PGPASSWORD": self.pg_password,
                "CLOUDSDK_API_ENDPOINT_OVERRIDES_SECRETMANAGER": self.gcp.endpoint,
                "CLOUDSDK_AUTH_ACCESS_TOKEN": self.gcp_token,
                "AWS_ENDPOINT_URL": self.aws_endpoint, "AWS_ACCESS_KEY_ID": AWS_KEY_ID,
                "AWS_SECRET_ACCESS_KEY": AWS_SECRET, "AWS_REGION": AWS_REGION}

    def _storage_root(self) -> str:
        """Where PostgreSQL data, volumes and sockets live: the sandbox dir when the `postgres`
        user can reach it, else (a parent such as /root is 0700) a private dir under the system
        temp dir, linked from DIR/storage and removed by stop()."""
        reachable = subprocess.run(["runuser", "-u", "postgres", "--", "test", "-x", self.sandbox_dir],
                                   capture_output=True).returncode == 0
        if reachable:
            self._storage_tmp = None
            return self.sandbox_dir
        root = tempfile.mkdtemp(prefix="runbook-sandbox-storage-")
        os.chmod(root, 0o755)
        self._storage_tmp = root
        link = os.path.join(self.sandbox_dir, "storage")
        if os.path.lexists(link):
            os.remove(link)
        os.symlink(root, link)
        return root

    def _log(self, name: str) -> str:
        d = os.path.join(self.sandbox_dir, "logs")
        os.makedirs(d, exist_ok=True)
        return os.path.join(d, name)

    @staticmethod
    def _wait_port(port: int, timeout: float, what: str, log: str) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.05)
        with open(log, errors="replace") as f:
            raise BackendError(f"{what} did not start on port {port}: {f.read()[-1500:]}")

    def _start_pg(self, errors: list) -> None:
        try:
            data = os.path.join(self.storage_dir, "pg", "main")
            if not pgserver.is_initialised(data):
                pgserver.init_data_dir(data)
                fresh = True
            else:
                fresh = False
            sock = os.path.join(self.storage_dir, "run", "main")
            if len(sock) > 80:
                import tempfile
                sock = tempfile.mkdtemp(prefix="rbsock-main-")
                self._sock_tmp = sock
            self.pg = pgserver.PgServer(data, sock, self._log("postgres-main.log"))
            self.pg.start()
            self.pg.wait_ready(30)
            self.pg.psql(f"ALTER ROLE postgres PASSWORD '{self.pg_password}'")
            if fresh:
                self._seed_sql()
        except Exception as e:  # noqa: BLE001
            errors.append(e)

    def _seed_sql(self) -> None:
        for d in self.fixture_dirs:
            for path in sorted(glob.glob(os.path.join(d, "sql", "*.sql"))):
                with open(path) as f:
                    head = f.read(4096)
                m = re.search(r"^--\s*database:\s*(\S+)", head, re.M)
                db = m.group(1) if m else "postgres"
                if db != "postgres":
                    exists = self.pg.psql(f"SELECT 1 FROM pg_database WHERE datname = '{db}'").strip()
                    if not exists:
                        self.pg.psql(f'CREATE DATABASE "{db}"')
                try:
                    self.pg.psql(file=path, db=db)
                except pgserver.PgError as e:
                    raise BackendError(f"{path}: {e}")

    def _seed_gcp(self) -> None:
        for d in self.fixture_dirs:
            path = os.path.join(d, "gcp.yaml")
            if not os.path.exists(path):
                continue
            with open(path) as f:
                data = yaml.safe_load(self.substitute(f.read())) or {}
            for project, secs in (data.get("projects") or {}).items():
                for sid, value in (secs or {}).items():
                    values = value if isinstance(value, list) else [value]
                    for v in values:
                        self.gcp.state.seed(str(project), str(sid), str(v))

    def _seed_aws(self) -> None:
        import boto3
        docs = []
        for d in self.fixture_dirs:
            path = os.path.join(d, "aws.yaml")
            if os.path.exists(path):
                with open(path) as f:
                    docs.append(yaml.safe_load(self.substitute(f.read())) or {})
        if not docs:
            return
        kw = {"endpoint_url": self.aws_endpoint, "region_name": AWS_REGION, "aws_access_key_id": AWS_KEY_ID,
              "aws_secret_access_key": AWS_SECRET}
        ssm, sm = boto3.client("ssm", **kw), boto3.client("secretsmanager", **kw)
        for doc in docs:
            for name, value in (doc.get("ssm") or {}).items():
                ssm.put_parameter(Name=str(name), Value=str(value), Type="SecureString", Overwrite=True)
            for name, value in (doc.get("secretsmanager") or {}).items():
                sm.create_secret(Name=str(name), SecretString=str(value))

    # -- placeholders
    def substitute(self, text: str) -> str:
        """Replaces ${PGHOST} ${PGPORT} ${PGUSER} ${PGPASSWORD} ${GCP_TOKEN} ${GCP_ENDPOINT}
        ${AWS_ENDPOINT_URL} ${SERVICE_PORT:ns/name}; an unknown placeholder is an error."""
        def rep(m):
            key = m.group(1)
            if key.startswith("SERVICE_PORT:"):
                svc = key.split(":", 1)[1]
                if svc not in self.service_ports:
                    self.service_ports[svc] = pgserver.free_port()
                return str(self.service_ports[svc])
            values = {"PGHOST": "127.0.0.1", "PGPORT": str(self.pg.port) if self.pg else None,
                      "PGUSER": "postgres", "PGPASSWORD": self.pg_password, "GCP_TOKEN": self.gcp_token,
                      "GCP_ENDPOINT": self.gcp_endpoint, "AWS_ENDPOINT_URL": self.aws_endpoint}
            if values.get(key) is None:
                raise BackendError(f"unknown or not yet available placeholder ${{{key}}}")
            return values[key]
        return re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*(?::[^}]+)?)\}", rep, text)

    # -- controllers
    def start_controllers(self, store) -> None:
        """Starts the ESO, Job, workload and Service controllers on `store`."""
        from .controllers.argocd import ArgoCDController
        from .controllers.eso import ESOController
        from .controllers.jobs import JobController
        from .controllers.rollouts import RolloutController
        from .controllers.services import ServiceController
        from .controllers.workloads import WorkloadController
        self.store = store
        self.workloads = WorkloadController(store, self)
        self.services = ServiceController(store, self, self.workloads, self.service_ports)
        self.jobs = JobController(store, self)
        self.eso = ESOController(store, self)
        self.rollouts = RolloutController(store, self)
        # a new controller: one more entry here (a Controller subclass of controllers/base.py, given
        # the store and this Backends as its context); one with a pids() method is checked by `down`
        self.controllers = [self.services, self.workloads, self.rollouts, self.eso, self.jobs,
                            ArgoCDController(store, self)]
        self.sealed_secrets = self._sealed_secrets(store)
        for c in self.controllers:
            c.start()

    def _sealed_secrets(self, store):
        """The SealedSecrets controller, when a fixture has `sealed-secrets.yaml` ({keyBits: N})."""
        conf = None
        for d in self.fixture_dirs:
            path = os.path.join(d, "sealed-secrets.yaml")
            if os.path.exists(path):
                with open(path) as f:
                    conf = yaml.safe_load(f) or {}
        if conf is None:
            return None
        from .controllers.sealedsecrets import SealedSecretsController
        ctl = SealedSecretsController(store, self, self.services, int(conf.get("keyBits", 4096)))
        self.controllers.append(ctl)
        return ctl

    def wait_ready(self, timeout: float) -> None:
        """Waits until Deployments/StatefulSets are ready and every ExternalSecret has a Ready
        condition; raises BackendError naming what is not ready."""
        deadline = time.monotonic() + timeout
        pending = []
        while time.monotonic() < deadline:
            pending = []
            for kind in ("Deployment", "StatefulSet"):
                for o in self.store.list(kind):
                    want = (o.get("spec") or {}).get("replicas", 1)
                    st = o.get("status") or {}
                    if st.get("readyReplicas", 0) < want or st.get("observedGeneration", 0) < \
                            o["metadata"].get("generation", 1):
                        pending.append(f"{kind} {o['metadata'].get('namespace')}/{o['metadata']['name']}")
            for o in self.store.list("ExternalSecret"):
                if not (o.get("status") or {}).get("conditions"):
                    pending.append(f"ExternalSecret {o['metadata'].get('namespace')}/{o['metadata']['name']}")
            for o in self.store.list("Service"):
                if f"{o['metadata'].get('namespace')}/{o['metadata']['name']}" not in self.services.ports():
                    pending.append(f"Service {o['metadata'].get('namespace')}/{o['metadata']['name']}")
            if not pending:
                return
            time.sleep(0.05)
        raise BackendError("not ready in time: " + ", ".join(pending))

    def info(self) -> dict:
        pids = []
        if self.pg:
            pids += self.pg.pids()
        if self.moto and self.moto.poll() is None:
            pids.append(self.moto.pid)
        for c in self.controllers:
            if hasattr(c, "pids"):
                pids += c.pids()
        ports = {"postgres": self.pg.port if self.pg else None, "moto": self.moto_port,
                 "gcp": self.gcp.port if self.gcp else None}
        if getattr(self, "sealed_secrets", None) is not None:
            ports["sealed-secrets"] = self.sealed_secrets.port    # its /v1/cert.pem server
        return {"ports": ports, "pids": pids, "services": self.services.ports() if self.services else {}}

    def stop(self) -> None:
        """Stops every controller, server and process started here. Idempotent."""
        if self._stopped:
            return
        self._stopped = True
        for c in self.controllers:
            try:
                c.stop()
            except Exception:  # noqa: BLE001 - keep stopping the rest
                pass
        if self.gcp is not None:
            self.gcp.stop()
        if self.moto is not None and self.moto.poll() is None:
            try:
                os.killpg(self.moto.pid, signal.SIGTERM)
                self.moto.wait(5)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                try:
                    os.killpg(self.moto.pid, signal.SIGKILL)
                    self.moto.wait(5)
                except (ProcessLookupError, subprocess.TimeoutExpired):
                    pass
        if self.pg is not None:
            self.pg.stop()
        if getattr(self, "_sock_tmp", None):
            shutil.rmtree(self._sock_tmp, ignore_errors=True)
        if getattr(self, "_storage_tmp", None):
            shutil.rmtree(self._storage_tmp, ignore_errors=True)
