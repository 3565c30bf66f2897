"""GCP Secret Manager emulator, checked with curl: id rule, conflicts, `latest`, states, auth, faults."""
import base64
import subprocess
import time
import unittest

from sandboxlib.harness import SANDBOX, SandboxTestCase as SandboxCase

P = "/v1/projects/univprepai/secrets"


def b64(s: str) -> str:
    return base64.b64encode(s.encode()).decode()


class GcpEmulatorTests(SandboxCase):
    fixtures = ["calibrate-irt"]

    def create(self, sid: str):
        return self.curl("POST", f"{P}?secretId={sid}", {"replication": {"automatic": {}}})

    def add(self, sid: str, value: str):
        return self.curl("POST", f"{P}/{sid}:addVersion", {"payload": {"data": b64(value)}})

    def test_fixture_secret_is_seeded(self):
        code, body = self.curl("GET", f"{P}/sandbox-probe/versions/latest:access")
        self.assertEqual(code, 200)
        self.assertEqual(base64.b64decode(body["payload"]["data"]).decode(), "probe-value")

    def test_secret_id_rule(self):
        code, body = self.create("seedtest/database-url")
        self.assertEqual((code, body["error"]["status"]), (400, "INVALID_ARGUMENT"))
        code, body = self.create("x" * 256)
        self.assertEqual(code, 400)
        code, body = self.create("ok_ID-" + "x" * 249)
        self.assertEqual(code, 200, body)

    def test_duplicate_and_missing(self):
        self.assertEqual(self.create("dup-secret")[0], 200)
        code, body = self.create("dup-secret")
        self.assertEqual((code, body["error"]["status"]), (409, "ALREADY_EXISTS"))
        code, body = self.curl("GET", f"{P}/no-such-secret")
        self.assertEqual((code, body["error"]["status"]), (404, "NOT_FOUND"))
        code, body = self.curl("GET", f"{P}/no-such-secret/versions/latest:access")
        self.assertEqual(code, 404)
        self.assertIn("not found or has no versions", body["error"]["message"])
        self.assertEqual(self.create("empty-secret")[0], 200)
        code, _ = self.curl("GET", f"{P}/empty-secret/versions/latest:access")
        self.assertEqual(code, 404)

    def test_latest_follows_newest_version_whatever_its_state(self):
        self.create("rotating")
        self.add("rotating", "v1")
        self.add("rotating", "v2")
        code, body = self.curl("GET", f"{P}/rotating/versions/latest:access")
        self.assertEqual(base64.b64decode(body["payload"]["data"]).decode(), "v2")
        self.assertEqual(body["name"], "projects/univprepai/secrets/rotating/versions/2")
        code, body = self.curl("POST", f"{P}/rotating/versions/2:disable", {})
        self.assertEqual((code, body["state"]), (200, "DISABLED"))
        code, body = self.curl("GET", f"{P}/rotating/versions/latest:access")
        self.assertEqual((code, body["error"]["status"]), (400, "FAILED_PRECONDITION"))
        self.assertIn("is in DISABLED state", body["error"]["message"])
        code, body = self.curl("GET", f"{P}/rotating/versions/1:access")
        self.assertEqual(base64.b64decode(body["payload"]["data"]).decode(), "v1")
        self.assertEqual(self.curl("POST", f"{P}/rotating/versions/2:enable", {})[1]["state"], "ENABLED")
        self.assertEqual(self.curl("GET", f"{P}/rotating/versions/latest:access")[0], 200)
        code, body = self.curl("POST", f"{P}/rotating/versions/2:destroy", {})
        self.assertEqual(body["state"], "DESTROYED")
        self.assertIn("destroyTime", body)
        code, body = self.curl("GET", f"{P}/rotating/versions/2:access")
        self.assertIn("is in DESTROYED state", body["error"]["message"])
        code, body = self.curl("POST", f"{P}/rotating/versions/2:enable", {})
        self.assertEqual((code, body["error"]["status"]), (400, "FAILED_PRECONDITION"))
        code, body = self.curl("GET", f"{P}/rotating/versions")
        self.assertEqual([v["state"] for v in body["versions"]], ["DESTROYED", "ENABLED"])

    def test_checksum(self):
        self.create("crc")
        # CRC32C("hello") = 0x9a71bb4c
        code, body = self.curl("POST", f"{P}/crc:addVersion",
                               {"payload": {"data": b64("hello"), "dataCrc32c": str(0x9a71bb4c)}})
        self.assertEqual(code, 200, body)
        code, body = self.curl("POST", f"{P}/crc:addVersion", {"payload": {"data": b64("hello"), "dataCrc32c": "1"}})
        self.assertEqual((code, body["error"]["status"]), (400, "INVALID_ARGUMENT"))
        code, body = self.curl("GET", f"{P}/crc/versions/latest:access")
        self.assertEqual(body["payload"]["dataCrc32c"], str(0x9a71bb4c))

    def test_auth(self):
        code, body = self.curl("GET", P, token=None)
        self.assertEqual((code, body["error"]["status"]), (401, "UNAUTHENTICATED"))
        code, body = self.curl("GET", P, token="wrong-token")
        self.assertEqual(code, 401)
        code, body = self.curl("GET", f"{P}/sandbox-probe/versions/latest:access", token="sandbox-denied-token")
        self.assertEqual((code, body["error"]["status"]), (403, "PERMISSION_DENIED"))
        code, body = self.curl("GET", P)
        self.assertEqual(code, 200)
        self.assertIn("projects/univprepai/secrets/sandbox-probe", [s["name"] for s in body["secrets"]])

    def test_delete(self):
        self.create("to-delete")
        self.assertEqual(self.curl("DELETE", f"{P}/to-delete"), (200, {}))
        self.assertEqual(self.curl("GET", f"{P}/to-delete")[0], 404)


if __name__ == "__main__":
    unittest.main()


class GcpEmulatorFaultTests(SandboxCase):
    fixtures = ["calibrate-irt"]

    def fault(self, *args):
        subprocess.run([SANDBOX, "fault", "--dir", self.dir, "--target", "gcp", *args], check=True, capture_output=True)

    def test_injected_503_then_served(self):
        self.fault("--path", "sandbox-probe", "--count", "1", "--action", "503")
        code, _ = self.curl("GET", f"{P}/sandbox-probe/versions/latest:access")
        self.assertEqual(code, 503)
        code, _ = self.curl("GET", f"{P}/sandbox-probe/versions/latest:access")
        self.assertEqual(code, 200)

    def test_slow_without_a_delay_waits_the_default_then_answers(self):
        self.fault("--path", "sandbox-probe", "--count", "1", "--action", "slow")
        t = time.monotonic()
        code, body = self.curl("GET", f"{P}/sandbox-probe/versions/latest:access")
        self.assertEqual(code, 200, body)
        self.assertGreaterEqual(time.monotonic() - t, 1.9)
