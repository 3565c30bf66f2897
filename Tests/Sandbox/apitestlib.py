"""Helpers for the sandbox API tests: one sandbox per test class, real kubectl, a raw HTTPS client."""

import http.client
import json
import os
import shutil
import ssl
import subprocess
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SANDBOX = os.path.join(HERE, "sandbox")
KUBECTL = shutil.which("kubectl") or "/usr/bin/kubectl"


def sandbox(*args, check=True, timeout=240) -> subprocess.CompletedProcess:
    p = subprocess.run([SANDBOX, *args], capture_output=True, text=True, timeout=timeout)
    if check and p.returncode != 0:
        raise AssertionError(f"sandbox {' '.join(args)} failed ({p.returncode}):\n{p.stdout}\n{p.stderr}")
    return p


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
    """Starts one sandbox for the class (FIXTURES), stops it afterwards."""

    FIXTURES: list = []

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="sbx-api-")
        args = ["up", "--dir", cls.dir]
        for f in cls.FIXTURES:
            args += ["--fixture", f]
        sandbox(*args)
        try:
            cls._after_up()
        except BaseException:
            sandbox("down", "--dir", cls.dir, check=False)
            shutil.rmtree(cls.dir, ignore_errors=True)
            raise

    @classmethod
    def _after_up(cls):
        with open(os.path.join(cls.dir, "sandbox.json")) as f:
            cls.state = json.load(f)
        cls.port = cls.state["ports"]["apiserver"]
        cls.kubeconfig = os.path.join(cls.dir, "kubeconfig")
        import yaml
        with open(cls.kubeconfig) as f:
            kc = yaml.safe_load(f)
        cls.viewer_token = next(u["user"]["token"] for u in kc["users"] if u["name"] == "viewer")
        cls.admin = RawClient(cls.dir, cls.port, "admin")
        cls.viewer = RawClient(cls.dir, cls.port, "viewer", cls.viewer_token)
        cls.anonymous = RawClient(cls.dir, cls.port, None)

    @classmethod
    def tearDownClass(cls):
        for c in (cls.admin, cls.viewer, cls.anonymous):
            c.close()
        try:
            sandbox("down", "--dir", cls.dir)
        finally:
            shutil.rmtree(cls.dir, ignore_errors=True)

    def kubectl(self, *args, context: str | None = None, check: bool = True, input: str | None = None):
        cmd = [KUBECTL, "--kubeconfig", self.kubeconfig]
        if context:
            cmd += ["--context", context]
        env = dict(os.environ, HOME=self.dir)
        p = subprocess.run(cmd + list(args), capture_output=True, text=True, input=input, timeout=60, env=env)
        if check and p.returncode != 0:
            self.fail(f"kubectl {' '.join(args)} failed ({p.returncode}): {p.stderr}")
        return p

    def kget(self, *args) -> dict:
        return json.loads(self.kubectl("get", *args, "-o", "json").stdout)

    @classmethod
    def ensure_namespace(cls, name: str):
        status, _, _ = cls.admin.request("GET", f"/api/v1/namespaces/{name}")
        if status == 404:
            s, _, body = cls.admin.request("POST", "/api/v1/namespaces",
                                           {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
            if s != 201:
                raise AssertionError(f"cannot create namespace {name}: {s} {body}")
