"""Unit tests of the Argo CD diff rules (sandboxlib/argodiff.py) and the ESO defaults; no sandbox."""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from sandboxlib import argodiff, eso_defaults  # noqa: E402

SEED_JQ = [".spec.data[].remoteRef.conversionStrategy", ".spec.data[].remoteRef.decodingStrategy",
           ".spec.data[].remoteRef.metadataPolicy", ".spec.target.deletionPolicy"]


def desired_es():
    return {"apiVersion": "external-secrets.io/v1", "kind": "ExternalSecret",
            "metadata": {"name": "discord", "namespace": "wealist-prod"},
            "spec": {"target": {"name": "discord"},
                     "data": [{"secretKey": "URL", "remoteRef": {"key": "wealist/prod/discord", "property": "url"}}]}}


def live_es():
    live = desired_es()
    eso_defaults.external_secret(live)
    live["metadata"].update({"uid": "u-1", "resourceVersion": "42", "generation": 3,
                             "creationTimestamp": "2025-12-30T00:00:00Z"})
    live["status"] = {"conditions": [{"type": "Ready", "status": "True"}]}
    return live


class ArgoDiffTests(unittest.TestCase):
    def test_eso_defaults_are_the_four_fields_of_the_seed(self):
        live = live_es()
        self.assertEqual(live["spec"]["data"][0]["remoteRef"],
                         {"key": "wealist/prod/discord", "property": "url", "conversionStrategy": "Default",
                          "decodingStrategy": "None", "metadataPolicy": "None"})
        self.assertEqual(live["spec"]["target"], {"name": "discord", "creationPolicy": "Owner",
                                                  "deletionPolicy": "Retain"})

    def test_defaults_inside_a_list_are_drift_server_metadata_and_status_are_not(self):
        self.assertFalse(argodiff.in_sync(desired_es(), live_es(), []))
        same = desired_es()
        same["metadata"]["uid"] = "other"
        same["status"] = {"x": 1}
        self.assertTrue(argodiff.in_sync(desired_es(), same, []))

    def test_map_fields_added_by_others_are_not_drift(self):
        live = desired_es()
        live["spec"]["target"]["deletionPolicy"] = "Retain"
        self.assertTrue(argodiff.in_sync(desired_es(), live, []))

    def test_seed_jq_paths_make_it_synced_and_a_real_change_still_shows(self):
        paths = argodiff.matching_ignores([{"group": "external-secrets.io", "kind": "ExternalSecret",
                                            "jqPathExpressions": SEED_JQ}],
                                          "external-secrets.io", "ExternalSecret", "wealist-prod", "discord")
        self.assertEqual(len(paths), 4)
        self.assertTrue(argodiff.in_sync(desired_es(), live_es(), paths))
        changed = live_es()
        changed["spec"]["data"][0]["remoteRef"]["key"] = "someone/else"
        self.assertFalse(argodiff.in_sync(desired_es(), changed, paths))

    def test_entries_for_other_kinds_names_or_namespaces_do_not_apply(self):
        ign = [{"group": "external-secrets.io", "kind": "SecretStore", "jqPathExpressions": SEED_JQ},
               {"group": "external-secrets.io", "kind": "ExternalSecret", "name": "x", "jqPathExpressions": SEED_JQ},
               {"group": "external-secrets.io", "kind": "ExternalSecret", "namespace": "y", "jqPathExpressions": SEED_JQ},
               {"group": "", "kind": "ExternalSecret", "jqPathExpressions": SEED_JQ}]
        self.assertEqual(argodiff.matching_ignores(ign, "external-secrets.io", "ExternalSecret", "wealist-prod",
                                                   "discord"), [])

    def test_json_pointers(self):
        live = live_es()
        live["spec"]["refreshInterval"] = "5m"
        desired = desired_es()
        desired["spec"]["refreshInterval"] = "1h"
        desired["spec"]["data"] = live["spec"]["data"]
        self.assertFalse(argodiff.in_sync(desired, live, []))
        self.assertTrue(argodiff.in_sync(desired, live, [argodiff.pointer_path("/spec/refreshInterval")]))
        doc = {"a": [{"b": 1}, {"b": 2}], "c~/d": 1}
        argodiff.remove(doc, argodiff.pointer_path("/a/1/b"))
        argodiff.remove(doc, argodiff.pointer_path("/c~0~1d"))
        self.assertEqual(doc, {"a": [{"b": 1}, {}]})

    def test_jq_forms(self):
        self.assertEqual(argodiff.jq_path('.spec.data[].remoteRef["key"]'), ["spec", "data", None, "remoteRef", "key"])
        self.assertEqual(argodiff.jq_path(".spec.data[0].x"), ["spec", "data", 0, "x"])
        with self.assertRaises(argodiff.IgnoreError) as e:
            argodiff.jq_path(".spec.data[] | select(.x)")
        self.assertIn("only paths of", str(e.exception))
        with self.assertRaises(argodiff.IgnoreError):
            argodiff.pointer_path("spec/x")


if __name__ == "__main__":
    unittest.main()
