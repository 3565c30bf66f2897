"""SealedSecrets controller: real crypto, the certificate through the service proxy, unsealing into
an owned Secret, the adoption rule (managed annotation) with the real status message, scopes."""
import base64
import json
import os
import sys
import unittest

from cryptography import x509

from sandboxlib.harness import HERE, SandboxTestCase as SandboxCase

sys.path.insert(0, HERE)
from sandboxlib.controllers.sealedsecrets import KEY_LABEL, label_for, new_key_pair, open_value, seal_value  # noqa: E402

NS = "observer-prod"


class SealedSecretsFormatTests(unittest.TestCase):
    """The controller's crypto on its own (no sandbox)."""

    @classmethod
    def setUpClass(cls):
        cls.key, cls.cert = new_key_pair(2048)

    def test_label_of_each_scope(self):
        self.assertEqual(label_for("ns", "s", {}), b"ns/s")
        self.assertEqual(label_for("ns", "s", {"sealedsecrets.bitnami.com/namespace-wide": "true"}), b"ns")
        self.assertEqual(label_for("ns", "s", {"sealedsecrets.bitnami.com/cluster-wide": "true"}), b"")
        self.assertEqual(label_for("ns", "s", {"sealedsecrets.bitnami.com/cluster-wide": "false"}), b"ns/s")

    def test_round_trip_length_prefix_and_wrong_label(self):
        sealed = seal_value(self.cert.public_key(), b"value-1", b"ns/s")
        self.assertEqual(sealed[:2], (256).to_bytes(2, "big"))
        self.assertEqual(len(sealed), 2 + 256 + len(b"value-1") + 16)
        self.assertEqual(open_value(self.key, sealed, b"ns/s"), b"value-1")
        with self.assertRaises(Exception):
            open_value(self.key, sealed, b"ns/other")
        with self.assertRaises(ValueError):
            open_value(self.key, sealed[:1], b"ns/s")
        with self.assertRaises(ValueError):
            open_value(self.key, sealed[:100], b"ns/s")
        self.assertEqual(open_value(self.key, seal_value(self.cert.public_key(), b"", b""), b""), b"")


class SealedSecretsTests(SandboxCase):
    fixtures = ["observer-postgres"]

    def cert(self):
        """The certificate of the active key (what kubeseal --cert would be given)."""
        k = self.kjson("-n", "sealed-secrets", "get", "secret", "-l", f"{KEY_LABEL}=active")["items"][0]
        return x509.load_pem_x509_certificate(base64.b64decode(k["data"]["tls.crt"]))

    def sealed(self, name, data, scope="strict", sealed_name=None, template_annotations=None):
        pub = self.cert().public_key()
        label = {"strict": f"{NS}/{name}".encode(), "namespace-wide": NS.encode(), "cluster-wide": b""}[scope]
        ann = {} if scope == "strict" else {f"sealedsecrets.bitnami.com/{scope}": "true"}
        return json.dumps({
            "apiVersion": "bitnami.com/v1alpha1", "kind": "SealedSecret",
            "metadata": {"name": sealed_name or name, "namespace": NS, "annotations": ann},
            "spec": {"encryptedData": {k: base64.b64encode(seal_value(pub, v.encode(), label)).decode()
                                       for k, v in data.items()},
                     "template": {"metadata": {"name": sealed_name or name, "namespace": NS,
                                               "annotations": dict(ann, **(template_annotations or {}))},
                                  "type": "Opaque"}}})

    def synced(self, name):
        def check():
            obj = self.kjson("-n", NS, "get", "sealedsecret", name)
            conds = (obj.get("status") or {}).get("conditions") or []
            return conds[0] if conds and obj["status"].get("observedGeneration") == obj["metadata"]["generation"] \
                else None
        return self.wait_for(check, what=f"SealedSecret {name} Synced condition")

    def data(self, name):
        obj = self.kjson("-n", NS, "get", "secret", name)
        return obj, {k: base64.b64decode(v).decode() for k, v in (obj.get("data") or {}).items()}

    def test_key_secret_service_and_certificate(self):
        keys = self.kjson("-n", "sealed-secrets", "get", "secret", "-l", f"{KEY_LABEL}=active")["items"]
        self.assertEqual(len(keys), 1)
        self.assertEqual(keys[0]["type"], "kubernetes.io/tls")
        self.assertTrue(keys[0]["metadata"]["name"].startswith("sealed-secrets-key"))
        stored = x509.load_pem_x509_certificate(base64.b64decode(keys[0]["data"]["tls.crt"]))
        self.assertEqual(stored.public_key().key_size, 4096)
        svc = self.kjson("-n", "sealed-secrets", "get", "service", "sealed-secrets-controller")
        self.assertEqual(svc["spec"]["ports"][0]["port"], 8080)

    def test_certificate_through_the_service_proxy_as_kubeseal_fetches_it(self):
        keys = self.kjson("-n", "sealed-secrets", "get", "secret", "-l", f"{KEY_LABEL}=active")["items"]
        stored = base64.b64decode(keys[0]["data"]["tls.crt"]).decode()
        for name in ("http:sealed-secrets-controller:http", "http:sealed-secrets-controller:", "sealed-secrets-controller:8080"):
            served = self.kubectl("get", "--raw",
                                  f"/api/v1/namespaces/sealed-secrets/services/{name}/proxy/v1/cert.pem").stdout
            self.assertEqual(served, stored, name)
        health = self.kubectl("get", "--raw", "/api/v1/namespaces/sealed-secrets/services/sealed-secrets-controller:http/proxy/healthz")
        self.assertEqual(health.stdout, "ok")

    def test_unseals_into_an_owned_secret_and_gc_removes_it(self):
        self.apply(self.sealed("new-secret", {"A": "alpha-value", "B": "beta-value"}))
        cond = self.synced("new-secret")
        self.assertEqual((cond["type"], cond["status"]), ("Synced", "True"))
        self.assertNotIn("message", cond)
        obj, data = self.data("new-secret")
        self.assertEqual(data, {"A": "alpha-value", "B": "beta-value"})
        ref = obj["metadata"]["ownerReferences"][0]
        self.assertEqual((ref["kind"], ref["name"], ref["controller"]), ("SealedSecret", "new-secret", True))
        self.kubectl("-n", NS, "delete", "sealedsecret", "new-secret")
        self.wait_for(lambda: self.kubectl("-n", NS, "get", "secret", "new-secret", check=False).returncode != 0,
                      what="owned Secret garbage-collected")

    def test_scopes_and_a_wrong_label_fail_with_the_controllers_message(self):
        self.apply(self.sealed("ns-wide", {"K": "namespace-wide-value"}, scope="namespace-wide"))
        self.assertEqual(self.synced("ns-wide")["status"], "True")
        self.assertEqual(self.data("ns-wide")[1], {"K": "namespace-wide-value"})
        self.apply(self.sealed("any-name", {"K": "cluster-wide-value"}, scope="cluster-wide"))
        self.assertEqual(self.synced("any-name")["status"], "True")
        # sealed strictly for "original" but named "renamed": the label does not match
        bad = json.loads(self.sealed("original", {"K1": "v1-value", "K2": "v2-value"}))
        bad["metadata"]["name"] = bad["spec"]["template"]["metadata"]["name"] = "renamed"
        self.apply(json.dumps(bad))
        cond = self.synced("renamed")
        self.assertEqual((cond["status"], cond["message"]), ("False", "no key could decrypt secret (K1, K2)"))
        self.assertNotEqual(self.kubectl("-n", NS, "get", "secret", "renamed", check=False).returncode, 0)

    def test_adopts_an_existing_secret_only_with_the_managed_annotation(self):
        self.kubectl("-n", NS, "create", "secret", "generic", "hand-made", "--from-literal=P=hand-made-pw")
        self.apply(self.sealed("hand-made", {"P": "hand-made-pw"}))
        cond = self.synced("hand-made")
        self.assertEqual((cond["status"], cond["message"]),
                         ("False", 'failed update: Resource "hand-made" already exists and is not managed by SealedSecret'))
        obj, _ = self.data("hand-made")
        self.assertNotIn("ownerReferences", obj["metadata"])
        self.kubectl("-n", NS, "annotate", "secret", "hand-made", "sealedsecrets.bitnami.com/managed=true")
        self.wait_for(lambda: self.kjson("-n", NS, "get", "sealedsecret", "hand-made")["status"]["conditions"][0]
                      ["status"] == "True", what="Synced after the annotation")
        obj, data = self.data("hand-made")
        self.assertEqual(data, {"P": "hand-made-pw"})
        self.assertEqual(obj["metadata"]["ownerReferences"][0]["name"], "hand-made")
        # deleting the SealedSecret with orphan propagation leaves the Secret, without the owner
        self.kubectl("-n", NS, "delete", "sealedsecret", "hand-made", "--cascade=orphan")
        obj, data = self.data("hand-made")
        self.assertEqual(data, {"P": "hand-made-pw"})
        self.assertNotIn("ownerReferences", obj["metadata"])


if __name__ == "__main__":
    unittest.main()
