"""Container env resolution with the kubelet's rules and messages, on the sandbox's real Store."""
import base64
import unittest

from sandboxlib.controllers.kubelet_env import EnvError, resolve_env
from sandboxlib.store import Store


def b64(s: str) -> str:
    return base64.b64encode(s.encode()).decode()


class KubeletEnvTests(unittest.TestCase):
    def setUp(self):
        self.store = Store()
        self.store.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "ns"}})
        self.store.create({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "namespace": "ns"},
                           "data": {"user": b64("alice"), "pw": b64("p4ss")}})
        self.store.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "ns"},
                           "data": {"mode": "green", "bad key": "x"}})
        self.pod = {"metadata": {"name": "p", "namespace": "ns", "uid": "u1"}}

    def env(self, container):
        return resolve_env(self.store, self.pod, container)

    def test_values_refs_env_from_and_expansion(self):
        env = self.env({
            "envFrom": [{"secretRef": {"name": "s"}, "prefix": "DB_"}, {"configMapRef": {"name": "c"}}],
            "env": [{"name": "USER", "valueFrom": {"secretKeyRef": {"name": "s", "key": "user"}}},
                    {"name": "MODE", "valueFrom": {"configMapKeyRef": {"name": "c", "key": "mode"}}},
                    {"name": "GREETING", "value": "hi $(USER), $$(USER) is literal, $(NOPE) stays"},
                    {"name": "POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}]})
        self.assertEqual(env["DB_user"], "alice")
        self.assertEqual(env["DB_pw"], "p4ss")
        self.assertEqual(env["mode"], "green")
        self.assertNotIn("bad key", env)  # not a valid variable name: skipped as the kubelet does
        self.assertEqual(env["USER"], "alice")
        self.assertEqual(env["MODE"], "green")
        self.assertEqual(env["GREETING"], "hi alice, $(USER) is literal, $(NOPE) stays")
        self.assertEqual(env["POD"], "p")

    def test_optional_missing_sources_and_keys_are_skipped(self):
        env = self.env({
            "envFrom": [{"secretRef": {"name": "absent", "optional": True}}],
            "env": [{"name": "A", "valueFrom": {"secretKeyRef": {"name": "absent", "key": "k", "optional": True}}},
                    {"name": "B", "valueFrom": {"secretKeyRef": {"name": "s", "key": "nokey", "optional": True}}},
                    {"name": "C", "valueFrom": {"configMapKeyRef": {"name": "c", "key": "nokey", "optional": True}}}]})
        self.assertEqual(env, {})

    def test_missing_required_sources_and_keys_give_the_kubelet_message(self):
        cases = [
            ({"envFrom": [{"secretRef": {"name": "absent"}}]}, 'secret "absent" not found'),
            ({"envFrom": [{"configMapRef": {"name": "absent"}}]}, 'configmap "absent" not found'),
            ({"env": [{"name": "X", "valueFrom": {"secretKeyRef": {"name": "absent", "key": "k"}}}]}, 'secret "absent" not found'),
            ({"env": [{"name": "X", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}}]}, "couldn't find key k in Secret ns/s"),
            ({"env": [{"name": "X", "valueFrom": {"configMapKeyRef": {"name": "c", "key": "k"}}}]}, "couldn't find key k in ConfigMap ns/c"),
        ]
        for container, message in cases:
            with self.assertRaises(EnvError) as cm:
                self.env(container)
            self.assertEqual(str(cm.exception), message)


if __name__ == "__main__":
    unittest.main()
