"""ESO controller: ExternalSecrets sync from the GCP emulator and from moto (SSM, Secrets Manager)."""
import base64
import json
import unittest

from sandboxlib.harness import SandboxTestCase as SandboxCase


def es(name, ns, store, data, api="external-secrets.io/v1beta1", target=None):
    items = "\n".join(f"  - secretKey: {k}\n    remoteRef:\n      key: {v}" for k, v in data.items())
    return f"""apiVersion: {api}
kind: ExternalSecret
metadata:
  name: {name}
  namespace: {ns}
spec:
  refreshInterval: 1h
  secretStoreRef:
    name: {store}
    kind: ClusterSecretStore
  target:
    name: {target or name}
  data:
{items}
"""


class ESOTests(SandboxCase):
    fixtures = ["calibrate-irt", "eso-aws"]

    def ready(self, ns, name):
        def check():
            obj = self.kjson("-n", ns, "get", "externalsecret", name)
            conds = (obj.get("status") or {}).get("conditions") or []
            return conds[0] if conds else None
        return self.wait_for(check, what=f"ExternalSecret {ns}/{name} condition")

    def secret_data(self, ns, name):
        obj = self.kjson("-n", ns, "get", "secret", name)
        return obj, {k: base64.b64decode(v).decode() for k, v in (obj.get("data") or {}).items()}

    def gcp_put(self, sid, value):
        self.curl("POST", f"/v1/projects/univprepai/secrets?secretId={sid}", {"replication": {"automatic": {}}})
        code, body = self.curl("POST", f"/v1/projects/univprepai/secrets/{sid}:addVersion",
                               {"payload": {"data": base64.b64encode(value.encode()).decode()}})
        self.assertEqual(code, 200, body)

    def test_gcp_sync_and_refresh(self):
        self.gcp_put("seedtest-database-url", "postgresql://u:p@db:5432/seedtest")
        self.gcp_put("r-irt-plumber-token", "token-0123456789abcdef0123456789ab")
        self.apply(es("calibrate-irt-credentials", "seedtest", "gcp-secret-store",
                      {"DATABASE_URL": "seedtest-database-url", "R_IRT_INTERNAL_TOKEN": "r-irt-plumber-token"}))
        cond = self.ready("seedtest", "calibrate-irt-credentials")
        self.assertEqual((cond["type"], cond["status"], cond["reason"]), ("Ready", "True", "SecretSynced"))
        obj, data = self.secret_data("seedtest", "calibrate-irt-credentials")
        self.assertEqual(data, {"DATABASE_URL": "postgresql://u:p@db:5432/seedtest",
                                "R_IRT_INTERNAL_TOKEN": "token-0123456789abcdef0123456789ab"})
        ref = obj["metadata"]["ownerReferences"][0]
        self.assertEqual((ref["kind"], ref["name"], ref["controller"]),
                         ("ExternalSecret", "calibrate-irt-credentials", True))
        status = self.kjson("-n", "seedtest", "get", "externalsecret", "calibrate-irt-credentials")["status"]
        self.assertIn("refreshTime", status)
        self.assertIn("syncedResourceVersion", status)
        # a new remote version reaches the Secret after a force-sync annotation (seed 002)
        self.gcp_put("seedtest-database-url", "postgresql://u:p@db:5432/seedtest2")
        self.kubectl("-n", "seedtest", "annotate", "externalsecret", "calibrate-irt-credentials",
                     "force-sync=1", "--overwrite")
        self.wait_for(lambda: self.secret_data("seedtest", "calibrate-irt-credentials")[1]["DATABASE_URL"]
                      .endswith("seedtest2"), what="refreshed DATABASE_URL")
        # deleting the ExternalSecret garbage-collects its Secret
        self.kubectl("-n", "seedtest", "delete", "externalsecret", "calibrate-irt-credentials")
        self.wait_for(lambda: self.kubectl("-n", "seedtest", "get", "secret", "calibrate-irt-credentials",
                                           check=False).returncode != 0, what="Secret gone")

    def test_gcp_missing_remote_key_reports_error(self):
        # the seed's remote keys contain a "/" — not a valid GCP secret id, so never found
        self.apply(es("seed-keys", "seedtest", "gcp-secret-store", {"DATABASE_URL": "seedtest/database-url"}))
        cond = self.ready("seedtest", "seed-keys")
        self.assertEqual((cond["status"], cond["reason"]), ("False", "SecretSyncedError"))
        self.assertIn("not found", cond["message"])
        self.assertIn("seedtest/database-url", cond["message"])
        self.assertNotEqual(self.kubectl("-n", "seedtest", "get", "secret", "seed-keys", check=False).returncode, 0)

    def test_gcp_changes_reach_the_secret_at_the_next_resync(self):
        # the controller reuses the emulator's last answer for a secret that has not changed since;
        # a new version or a disabled one must still be seen by the periodic resync (no change in k8s)
        self.gcp_put("eso-resync-probe", "one")
        self.apply(es("resync-probe", "seedtest", "gcp-secret-store", {"V": "eso-resync-probe"}))
        self.assertEqual(self.ready("seedtest", "resync-probe")["reason"], "SecretSynced")
        self.assertEqual(self.secret_data("seedtest", "resync-probe")[1], {"V": "one"})
        self.gcp_put("eso-resync-probe", "two")
        self.wait_for(lambda: self.secret_data("seedtest", "resync-probe")[1] == {"V": "two"},
                      what="the new version synced by a resync")
        code, body = self.curl("POST", "/v1/projects/univprepai/secrets/eso-resync-probe/versions/2:disable", {})
        self.assertEqual(code, 200, body)
        cond = self.wait_for(lambda: (lambda c: c if c["status"] == "False" else None)(
            self.ready("seedtest", "resync-probe")), what="the disabled version reported")
        self.assertIn("is in DISABLED state", cond["message"])

    def test_a_resync_restores_what_was_changed_in_the_target_secret(self):
        # a resync is not run again while nothing it read has changed; a change to the Secret is one
        self.gcp_put("eso-restore-probe", "kept")
        self.apply(es("restore-probe", "seedtest", "gcp-secret-store", {"V": "eso-restore-probe"}))
        self.assertEqual(self.ready("seedtest", "restore-probe")["reason"], "SecretSynced")
        self.kubectl("-n", "seedtest", "label", "secret", "restore-probe", "reconcile.external-secrets.io/managed-")
        self.wait_for(lambda: (self.secret_data("seedtest", "restore-probe")[0]["metadata"].get("labels") or {})
                      .get("reconcile.external-secrets.io/managed") == "true", what="the label put back")
        self.assertEqual(self.secret_data("seedtest", "restore-probe")[1], {"V": "kept"})

    def test_gcp_connection_reset_is_reported_then_a_new_connection_syncs(self):
        # each ESO worker keeps its connection to the emulator; a reset must surface as the error
        # (not be retried away) and the next sync must open a new connection
        self.gcp_put("eso-reset-probe", "first")
        self.apply(es("reset-probe", "seedtest", "gcp-secret-store", {"V": "eso-reset-probe"}))
        self.assertEqual(self.ready("seedtest", "reset-probe")["reason"], "SecretSynced")
        self.gcp_put("eso-reset-probe", "second")
        self.fault("--target", "gcp", "--method", "GET", "--path", "eso-reset-probe", "--count", "1000",
                   "--action", "reset")
        try:
            self.kubectl("-n", "seedtest", "annotate", "externalsecret", "reset-probe", "force-sync=1", "--overwrite")
            cond = self.wait_for(lambda: (lambda c: c if c["status"] == "False" else None)(
                self.ready("seedtest", "reset-probe")), what="the reset reported")
            self.assertEqual(cond["reason"], "SecretSyncedError")
            self.assertIn("code = Unavailable", cond["message"])
        finally:
            self.sandbox.clear_faults()
        self.wait_for(lambda: self.secret_data("seedtest", "reset-probe")[1] == {"V": "second"},
                      what="synced over a new connection")
        self.assertEqual(self.ready("seedtest", "reset-probe")["reason"], "SecretSynced")

    def test_aws_parameter_store_sync(self):
        self.apply(es("chat-api-secrets", "chat", "aws-ssm-store",
                      {"OPENAI_API_KEY": "/ecoeco/prod/openai-api-key", "DATABASE_URL": "/ecoeco/prod/database-url"},
                      api="external-secrets.io/v1"))
        cond = self.ready("chat", "chat-api-secrets")
        self.assertEqual((cond["status"], cond["reason"], cond["message"]), ("True", "SecretSynced", "secret synced"))
        _, data = self.secret_data("chat", "chat-api-secrets")
        self.assertEqual(data["OPENAI_API_KEY"], "sk-sandbox-openai-0123456789")
        # served under both versions
        self.assertEqual(self.kjson("get", "externalsecrets.v1beta1.external-secrets.io", "-n", "chat",
                                    "chat-api-secrets")["metadata"]["name"], "chat-api-secrets")

    def test_aws_missing_parameter_reports_error(self):
        self.apply(es("missing-param", "chat", "aws-ssm-store", {"X": "/ecoeco/prod/does-not-exist"}))
        cond = self.ready("chat", "missing-param")
        self.assertEqual((cond["status"], cond["reason"]), ("False", "SecretSyncedError"))
        self.assertIn("Secret does not exist", cond["message"])

    def test_aws_secrets_manager_property_and_extract(self):
        manifest = """apiVersion: external-secrets.io/v1beta1
kind: ExternalSecret
metadata:
  name: chat-db
  namespace: chat
spec:
  refreshInterval: 1h
  secretStoreRef:
    name: aws-secrets-manager
    kind: ClusterSecretStore
  data:
  - secretKey: PASSWORD
    remoteRef:
      key: ecoeco/prod/chat-api
      property: password
  dataFrom:
  - extract:
      key: ecoeco/prod/chat-api
"""
        self.apply(manifest)
        cond = self.ready("chat", "chat-db")
        self.assertEqual(cond["reason"], "SecretSynced", json.dumps(cond))
        _, data = self.secret_data("chat", "chat-db")
        self.assertEqual(data, {"PASSWORD": "chat-sm-pw", "username": "chat", "password": "chat-sm-pw"})


if __name__ == "__main__":
    unittest.main()
