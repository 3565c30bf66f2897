"""Shared helpers for the test_ctl_* tests: one sandbox per TestCase class, real kubectl/psql/curl."""
import json
import os
import shutil
import subprocess
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SANDBOX = os.path.join(HERE, "sandbox")


class SandboxCase(unittest.TestCase):
    """Starts `sandbox up` with `fixtures` in setUpClass and `down` in tearDownClass."""

    fixtures: list[str] = []

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="sandbox-ctl-test-")
        args = [SANDBOX, "up", "--dir", cls.dir]
        for f in cls.fixtures:
            args += ["--fixture", f]
        r = subprocess.run(args, capture_output=True, text=True, timeout=120)
        if r.returncode != 0:
            subprocess.run([SANDBOX, "down", "--dir", cls.dir], capture_output=True, timeout=60)
            raise AssertionError(f"sandbox up failed: {r.stdout}\n{r.stderr}")
        cls.env = dict(os.environ)
        with open(os.path.join(cls.dir, "env")) as f:
            for line in f:
                line = line.strip()
                if line.startswith("export ") and "=" in line:
                    k, v = line[len("export "):].split("=", 1)
                    cls.env[k] = subprocess.run(["sh", "-c", f"printf %s {v}"], capture_output=True,
                                                text=True).stdout
        with open(os.path.join(cls.dir, "sandbox.json")) as f:
            cls.info = json.load(f)

    @classmethod
    def tearDownClass(cls):
        r = subprocess.run([SANDBOX, "down", "--dir", cls.dir], capture_output=True, text=True, timeout=120)
        shutil.rmtree(cls.dir, ignore_errors=True)
        if r.returncode != 0:
            raise AssertionError(f"sandbox down failed: {r.stdout}\n{r.stderr}")

    # -- tools
    def kubectl(self, *args, input=None, check=True) -> subprocess.CompletedProcess:
        r = subprocess.run(["kubectl", *args], capture_output=True, text=True, env=self.env, input=input,
                           timeout=60)
        if check and r.returncode != 0:
            self.fail(f"kubectl {' '.join(args)} failed: {r.stderr}")
        return r

    def kjson(self, *args) -> dict:
        return json.loads(self.kubectl(*args, "-o", "json").stdout)

    def apply(self, manifest: str) -> None:
        self.kubectl("apply", "--validate=false", "-f", "-", input=manifest)

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
        """Polls `fn` (0.2 s interval) until it returns a truthy value."""
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            last = fn()
            if last:
                return last
            time.sleep(0.2)
        self.fail(f"timed out waiting for {what}; last value: {last!r}")
