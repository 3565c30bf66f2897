"""`sandbox up` / `down`: readiness, files written, errors reported, nothing left behind."""

import glob
import json
import os
import shutil
import signal
import socket
import stat
import tempfile
import time
import unittest

import yaml

from sandboxlib.harness import sandbox


def listening_ports() -> set:
    out = set()
    for name in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(name) as f:
            next(f)
            for line in f:
                cols = line.split()
                if cols[3] == "0A":
                    out.add(int(cols[1].rsplit(":", 1)[1], 16))
    return out


def processes_mentioning(text: str) -> list:
    """Live processes whose command line or working directory mentions text."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
            with open(f"/proc/{pid}/stat") as f:
                state = f.read().rsplit(")", 1)[1].split()[0]
            cwd = os.readlink(f"/proc/{pid}/cwd") if os.access(f"/proc/{pid}/cwd", os.R_OK) else ""
        except (OSError, IndexError):
            continue
        if state != "Z" and (text in cmd or cwd.startswith(text)):
            found.append((int(pid), cmd))
    return found


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


class LifecycleTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="sbx-life-")

    def tearDown(self):
        sandbox("down", "--dir", self.dir, check=False)
        shutil.rmtree(self.dir, ignore_errors=True)

    def test_up_writes_files_and_down_leaves_nothing(self):
        t0 = time.monotonic()
        p = sandbox("up", "--dir", self.dir, "--fixture", "observer-postgres")
        self.assertLess(time.monotonic() - t0, 30, "up should take seconds")
        self.assertIn("sandbox ready", p.stdout)
        with open(os.path.join(self.dir, "sandbox.json")) as f:
            st = json.load(f)
        with open(os.path.join(self.dir, "kubeconfig")) as f:
            kc = yaml.safe_load(f)
        self.assertEqual(kc["current-context"], "sandbox")
        self.assertEqual({c["name"] for c in kc["contexts"]}, {"sandbox", "sandbox-viewer"})
        self.assertEqual(kc["clusters"][0]["cluster"]["server"], f"https://127.0.0.1:{st['ports']['apiserver']}")
        self.assertIn("certificate-authority-data", kc["clusters"][0]["cluster"])
        self.assertEqual(stat.S_IMODE(os.stat(os.path.join(self.dir, "kubeconfig")).st_mode), 0o600)
        with open(os.path.join(self.dir, "env")) as f:
            env = f.read()
        for key in ("KUBECONFIG", "PGHOST", "PGPORT", "AWS_ENDPOINT_URL", "CLOUDSDK_API_ENDPOINT_OVERRIDES_SECRETMANAGER"):
            self.assertRegex(env, rf"(?m)^export {key}=")
        with open(os.path.join(self.dir, "env.json")) as f:
            env_json = json.load(f)
        for key, value in env_json.items():   # the same variables, unquoted
            self.assertRegex(env, rf"(?m)^export {key}=")
            self.assertIsInstance(value, str)
        self.assertEqual(env_json["KUBECONFIG"], os.path.join(self.dir, "kubeconfig"))
        self.assertEqual(stat.S_IMODE(os.stat(os.path.join(self.dir, "env.json")).st_mode), 0o600)
        pids = set(st["pids"]) | {st["pid"]}
        ports = {v for v in st["ports"].values() if isinstance(v, int)} | set(st["services"].values())
        self.assertTrue(all(alive(p) for p in pids))
        self.assertLessEqual(ports, listening_ports())
        for port in ports:
            s = socket.create_connection(("127.0.0.1", port), timeout=5)
            self.assertEqual(s.getpeername()[0], "127.0.0.1")
            s.close()
        before = processes_mentioning(self.dir)
        self.assertTrue(before)
        p = sandbox("up", "--dir", self.dir, check=False)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("already running", p.stderr)
        sandbox("down", "--dir", self.dir)
        self.assertEqual([p for p in pids if alive(p)], [])
        self.assertEqual(ports & listening_ports(), set())
        self.assertEqual(processes_mentioning(self.dir), [])
        self.assertFalse(os.path.exists(os.path.join(self.dir, "sandbox.json")))
        # kubectl's private home (strategic merge patches) goes with the sandbox; its name carries
        # the daemon's pid, so other sandboxes running on the machine do not matter
        self.assertEqual(glob.glob(os.path.join(tempfile.gettempdir(), f"sandbox-kubectl-{st['pid']}-*")), [])

    def test_down_cleans_up_after_a_killed_daemon(self):
        sandbox("up", "--dir", self.dir, "--fixture", "observer-postgres")
        with open(os.path.join(self.dir, "sandbox.json")) as f:
            st = json.load(f)
        self.assertGreater(len(st["pids"]), 1)
        os.kill(st["pid"], signal.SIGKILL)
        p = sandbox("down", "--dir", self.dir)
        self.assertIn("stopping leftover processes", p.stderr)
        self.assertEqual([x for x in st["pids"] if alive(x)], [])
        self.assertEqual(processes_mentioning(self.dir), [])
        ports = set(st["ports"].values()) | set(st["services"].values())
        self.assertEqual(ports & listening_ports(), set())
        self.assertEqual(glob.glob(os.path.join(tempfile.gettempdir(), f"sandbox-kubectl-{st['pid']}-*")), [])

    def test_up_reports_a_bad_fixture_and_leaves_nothing(self):
        p = sandbox("up", "--dir", self.dir, "--fixture", "no-such-fixture", check=False)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("no fixture 'no-such-fixture'", p.stderr)
        time.sleep(0.2)
        self.assertEqual(processes_mentioning(self.dir), [])

    def test_up_reports_an_invalid_fixture_object(self):
        root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        fx = tempfile.mkdtemp(prefix="broken-", dir=os.path.join(root, "fixtures", "clusters"))
        try:
            os.makedirs(os.path.join(fx, "objects"))
            with open(os.path.join(fx, "objects", "bad.yaml"), "w") as f:
                f.write("apiVersion: v1\nkind: Secret\nmetadata: {name: x, namespace: missing-ns}\n")
            p = sandbox("up", "--dir", self.dir, "--fixture", os.path.basename(fx), check=False)
            self.assertNotEqual(p.returncode, 0)
            self.assertIn("bad.yaml", p.stderr)
            self.assertIn('namespaces "missing-ns" not found', p.stderr)
            self.assertEqual(processes_mentioning(self.dir), [])
        finally:
            shutil.rmtree(fx)


if __name__ == "__main__":
    unittest.main()
