"""The one Python test harness of the sandbox: start/stop a sandbox (`Sandbox`), a raw HTTPS client
that reuses one connection (`RawClient`), and `SandboxTestCase`, which shares one sandbox per test
class and gives the tests real kubectl, psql and curl with the sandbox's environment.

    class MyTests(SandboxTestCase):
        FIXTURES = ["calibrate-irt"]
        def test_x(self):
            self.kubectl("get", "pods", "-A")

When `sandbox up` fails, setUpClass fails with the sandbox's own output and the end of its
daemon.log, and nothing is left running."""

import http.client
import json
import os
import shutil
import ssl
import subprocess
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SANDBOX = os.path.join(HERE, "sandbox")
KUBECTL = shutil.which("kubectl") or "/usr/bin/kubectl"


def sandbox(*args, check=True, timeout=240) -> subprocess.CompletedProcess:
    """`Tests/Sandbox/sandbox ARGS…`; raises AssertionError with its output when it fails and `check`."""
    p = subprocess.run([SANDBOX, *args], capture_output=True, text=True, timeout=timeout)
    if check and p.returncode != 0:
        raise AssertionError(f"sandbox {' '.join(args)} failed ({p.returncode}):\n{p.stdout}\n{p.stderr}")
    return p


def read_env(sandbox_dir: str) -> dict:
    """The sandbox's environment (KUBECONFIG, PG*, AWS_*, CLOUDSDK_*), from DIR/env.json."""
    with open(os.path.join(sandbox_dir, "env.json")) as f:
        return json.load(f)


class Sandbox:
    """One running sandbox in a fresh temporary directory."""

    def __init__(self, fixtures=(), prefix: str = "sbx-"):
        self.dir = tempfile.mkdtemp(prefix=prefix)
        args = ["up", "--dir", self.dir]
        for f in fixtures:
            args += ["--fixture", f]
        p = sandbox(*args, check=False)
        if p.returncode != 0:
            log = ""
            try:
                with open(os.path.join(self.dir, "daemon.log"), errors="replace") as f:
                    log = "".join(f.readlines()[-40:])
            except OSError:
                pass
            sandbox("down", "--dir", self.dir, check=False)
            shutil.rmtree(self.dir, ignore_errors=True)
            raise AssertionError(f"sandbox up failed ({p.returncode}):\n{p.stdout}{p.stderr}"
                                 + (f"\n--- end of daemon.log:\n{log}" if log else ""))
        self.env = dict(os.environ) | read_env(self.dir)
        with open(os.path.join(self.dir, "sandbox.json")) as f:
            self.info = json.load(f)
        self.port = self.info["ports"]["apiserver"]
        self.kubeconfig = os.path.join(self.dir, "kubeconfig")
        self.viewer_token = self.info.get("viewer_token") or self._viewer_token()

    def _viewer_token(self) -> str:
        import yaml
        with open(self.kubeconfig) as f:
            kc = yaml.safe_load(f)
        return next(u["user"]["token"] for u in kc["users"] if u["name"] == "viewer")

    def stop(self, check: bool = True):
        """`sandbox down` (which verifies that nothing is left) and remove the directory."""
        try:
            sandbox("down", "--dir", self.dir, check=check)
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)

    def fault(self, *args):
        """`sandbox fault --dir DIR ARGS…` (e.g. "--target", "kube", "--action", "503")."""
        sandbox("fault", "--dir", self.dir, *args)

    def clear_faults(self):
        sandbox("fault", "--dir", self.dir, "--clear")


class RawClient:
    """One reused HTTPS connection to the sandbox API server, as a given user."""

    def __init__(self, sandbox_dir: str, port: int, user: str | None = "admin", viewer_token: str | None = None):
        self.dir, self.port, self.user, self.token = sandbox_dir, port, user, viewer_token
        ctx = ssl.create_default_context(cafile=os.path.join(sandbox_dir, "pki", "ca.crt"))
        if user == "admin":
            ctx.load_cert_chain(os.path.join(sandbox_dir, "pki", "admin.crt"), os.path.join(sandbox_dir, "pki", "admin.key"))
        self.ctx = ctx
        self.conn = None

    def _connect(self, timeout):
        return http.client.HTTPSConnection("127.0.0.1", self.port, context=self.ctx, timeout=timeout)

    def request(self, method: str, path: str, body=None, ctype: str = "application/json", headers=None,
                timeout: float = 30, fresh: bool = False):
        """(status, headers, parsed JSON or text)."""
        hdrs = dict(headers or {})
        if self.user == "viewer":
            hdrs["Authorization"] = f"Bearer {self.token}"
        data = None
        if body is not None:
            data = body if isinstance(body, (bytes, str)) else json.dumps(body)
            hdrs["Content-Type"] = ctype
        conn = self._connect(timeout) if fresh else (self.conn or self._connect(timeout))
        if not fresh:
            self.conn = conn
        try:
            conn.request(method, path, body=data, headers=hdrs)
            resp = conn.getresponse()
            raw = resp.read()
        except Exception:
            conn.close()
            if not fresh:
                self.conn = None
            raise
        if fresh:
            conn.close()
        text = raw.decode()
        try:
            parsed = json.loads(text) if resp.getheader("Content-Type", "").startswith("application/json") else text
        except ValueError:
            parsed = text
        return resp.status, resp.headers, parsed

    def close(self):
        if self.conn:
            self.conn.close()
            self.conn = None


class SandboxTestCase(unittest.TestCase):
    """One sandbox for the class (fixtures in FIXTURES), stopped in tearDownClass. Class attributes:
    `sandbox` (the Sandbox), `dir`, `env` (os.environ + the sandbox's), `info`/`state` (sandbox.json),
    `port`, `kubeconfig`, `viewer_token`, and RawClients `admin`, `viewer`, `anonymous`."""

    FIXTURES: list = []
    fixtures: list = []          # the older spelling, still honoured

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        sb = Sandbox(cls.FIXTURES or cls.fixtures, prefix=f"sbx-{cls.__name__[:20]}-")
        cls.sandbox = sb
        cls.dir, cls.env, cls.info, cls.state = sb.dir, sb.env, sb.info, sb.info
        cls.port, cls.kubeconfig, cls.viewer_token = sb.port, sb.kubeconfig, sb.viewer_token
        cls.admin = RawClient(cls.dir, cls.port, "admin")
        cls.viewer = RawClient(cls.dir, cls.port, "viewer", cls.viewer_token)
        cls.anonymous = RawClient(cls.dir, cls.port, None)
        try:
            cls._after_up()
        except BaseException:
            cls._close_clients()
            sb.stop(check=False)
            raise

    @classmethod
    def _after_up(cls):
        """Hook for subclasses: runs once the sandbox is up (a failure stops it again)."""

    @classmethod
    def _close_clients(cls):
        for c in (cls.admin, cls.viewer, cls.anonymous):
            c.close()

    @classmethod
    def tearDownClass(cls):
        cls._close_clients()
        cls.sandbox.stop()
        super().tearDownClass()

    # -- tools ---------------------------------------------------------------------------------
    def kubectl(self, *args, context: str | None = None, check: bool = True, input: str | None = None):
        """Real kubectl with the sandbox's kubeconfig (and a private HOME for its cache)."""
        cmd = [KUBECTL, "--kubeconfig", self.kubeconfig]
        if context:
            cmd += ["--context", context]
        env = dict(self.env, HOME=self.dir)
        p = subprocess.run(cmd + list(args), capture_output=True, text=True, input=input, timeout=60, env=env)
        if check and p.returncode != 0:
            self.fail(f"kubectl {' '.join(args)} failed ({p.returncode}): {p.stderr}")
        return p

    def kget(self, *args) -> dict:
        return json.loads(self.kubectl("get", *args, "-o", "json").stdout)

    def kjson(self, *args) -> dict:
        return json.loads(self.kubectl(*args, "-o", "json").stdout)

    def apply(self, manifest: str) -> None:
        self.kubectl("apply", "--validate=false", "-f", "-", input=manifest)

    def fault(self, *args):
        self.sandbox.fault(*args)

    def psql(self, sql: str, db: str = "postgres", host=None, port=None, user=None, password=None,
             check=True) -> subprocess.CompletedProcess:
        env = dict(self.env)
        if password is not None:
            env["PGPASSWORD"] = password
        args = ["psql", "-X", "-At", "-v", "ON_ERROR_STOP=1", "-d", db, "-c", sql]
        if host:
            args += ["-h", host]
        if port:
            args += ["-p", str(port)]
        if user:
            args += ["-U", user]
        r = subprocess.run(args, capture_output=True, text=True, env=env, timeout=30)
        if check and r.returncode != 0:
            self.fail(f"psql {sql!r} failed: {r.stderr}")
        return r

    def curl(self, method: str, path: str, body=None, token: str | None = "default") -> tuple[int, dict]:
        """Calls the GCP emulator; returns (HTTP status, JSON body)."""
        base = self.env["CLOUDSDK_API_ENDPOINT_OVERRIDES_SECRETMANAGER"].rstrip("/")
        args = ["curl", "-s", "-o", "-", "-w", "\n%{http_code}", "-X", method, base + path]
        if token == "default":
            token = self.env["CLOUDSDK_AUTH_ACCESS_TOKEN"]
        if token is not None:
            args += ["-H", f"Authorization: Bearer {token}"]
        if body is not None:
            args += ["-H", "Content-Type: application/json", "-d", json.dumps(body)]
        r = subprocess.run(args, capture_output=True, text=True, timeout=30)
        text, _, code = r.stdout.rpartition("\n")
        return int(code), json.loads(text) if text.strip() else {}

    def wait_for(self, fn, timeout: float = 20, what: str = "condition"):
        """Checks `fn` every 0.2 s until it returns a truthy value (which is returned)."""
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            last = fn()
            if last:
                return last
            time.sleep(0.2)
        self.fail(f"timed out waiting for {what}; last value: {last!r}")

    @classmethod
    def ensure_namespace(cls, name: str):
        status, _, _ = cls.admin.request("GET", f"/api/v1/namespaces/{name}")
        if status == 404:
            s, _, body = cls.admin.request("POST", "/api/v1/namespaces",
                                           {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
            if s != 201:
                raise AssertionError(f"cannot create namespace {name}: {s} {body}")
