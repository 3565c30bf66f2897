"""Seed 004 in the sandbox (fixture eso-crd-broken): CRD conversion as the real API server does it,
ESO's CRD defaults, and the Argo CD Application controller — checked with the real kubectl."""
import json
import os
import unittest

from sandboxlib.harness import SandboxTestCase as SandboxCase

CRDS = ["externalsecrets.external-secrets.io", "secretstores.external-secrets.io",
        "clustersecretstores.external-secrets.io"]
SEED_ERROR = ('Error from server: conversion webhook for external-secrets.io/v1beta1, Kind=ExternalSecret failed: '
              'Post "https://external-secrets-webhook.external-secrets.svc:443/convert?timeout=30s": '
              'service "external-secrets-webhook" not found')
IGNORE = {"spec": {"ignoreDifferences": [{"group": "external-secrets.io", "kind": "ExternalSecret", "jqPathExpressions": [
    ".spec.data[].remoteRef.conversionStrategy", ".spec.data[].remoteRef.decodingStrategy",
    ".spec.data[].remoteRef.metadataPolicy", ".spec.target.deletionPolicy"]}]}}


class CRDConversionTests(SandboxCase):
    fixtures = ["eso-crd-broken"]

    def app(self, name):
        return self.kjson("-n", "argocd", "get", "applications.argoproj.io", name)

    def sync_status(self, name, want):
        def check():
            st = (self.app(name).get("status") or {}).get("sync") or {}
            return st.get("status") == want and st
        return self.wait_for(check, what=f"Application {name} {want}")

    def patch_conversion(self, strategy_json):
        for crd in CRDS:
            self.kubectl("patch", "crd", crd, "--type=json",
                         "-p", json.dumps([{"op": "replace", "path": "/spec/conversion", "value": strategy_json}]))

    def test_seed_004_broken_then_repaired(self):
        # Broken: the seed's error, word for word, from the real kubectl.
        r = self.kubectl("get", "externalsecret", "-n", "wealist-prod", check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertEqual(r.stderr.strip(), SEED_ERROR)
        r = self.kubectl("get", "externalsecrets.v1beta1.external-secrets.io", "-n", "wealist-prod", check=False)
        self.assertNotEqual(r.returncode, 0, "v1beta1 is not served")
        # Writes in the served version fail too (the stored object must be converted first).
        r = self.kubectl("annotate", "externalsecret", "discord-webhook", "-n", "wealist-prod", "x=y", check=False)
        self.assertIn("conversion webhook for external-secrets.io/v1beta1, Kind=ExternalSecret failed", r.stderr)
        # Argo CD cannot load the live state either.
        st = self.sync_status("external-secrets-config-prod", "Unknown")
        conds = self.app("external-secrets-config-prod")["status"]["conditions"]
        self.assertTrue(any(c["type"] == "ComparisonError" and "conversion webhook" in c["message"] for c in conds))
        self.assertEqual(st["comparedTo"]["source"]["path"], "wealist/external-secrets-config")
        original = self.kjson("get", "crd", CRDS[0])["spec"]["conversion"]

        # Repaired as the seed does it: the stored v1beta1 objects are served as v1 by relabelling.
        self.patch_conversion({"strategy": "None"})
        items = self.kjson("get", "externalsecret", "-n", "wealist-prod")["items"]
        self.assertEqual([i["metadata"]["name"] for i in items], ["discord-webhook"])
        self.assertEqual(items[0]["apiVersion"], "external-secrets.io/v1")
        ref = items[0]["spec"]["data"][0]["remoteRef"]
        self.assertEqual((ref["conversionStrategy"], ref["decodingStrategy"], ref["metadataPolicy"]),
                         ("Default", "None", "None"))
        self.assertEqual(items[0]["spec"]["target"]["deletionPolicy"], "Retain")
        # The operator syncs again.
        self.wait_for(lambda: self.kubectl("get", "secret", "discord-webhook", "-n", "wealist-prod",
                                           check=False).returncode == 0, what="the synced Secret")

        # Argo CD now sees ESO's defaults as drift (inside spec.data, a list) ...
        self.sync_status("external-secrets-config-prod", "OutOfSync")
        rows = {r["name"]: r["status"] for r in self.app("external-secrets-config-prod")["status"]["resources"]}
        self.assertEqual(rows, {"wealist-aws-secretsmanager": "Synced", "discord-webhook": "OutOfSync"})
        # ... until the seed's ignoreDifferences; the refresh annotation is consumed.
        self.kubectl("patch", "application", "external-secrets-config-prod", "-n", "argocd", "--type=merge",
                     "-p", json.dumps(IGNORE))
        self.kubectl("patch", "application", "external-secrets-config-prod", "-n", "argocd", "--type=merge",
                     "-p", '{"metadata":{"annotations":{"argocd.argoproj.io/refresh":"hard"}}}')
        self.sync_status("external-secrets-config-prod", "Synced")
        self.wait_for(lambda: "argocd.argoproj.io/refresh" not in
                      (self.app("external-secrets-config-prod")["metadata"].get("annotations") or {}),
                      what="the refresh annotation removed")
        # A real change is still drift.
        self.kubectl("patch", "externalsecret", "discord-webhook", "-n", "wealist-prod", "--type=merge",
                     "-p", '{"spec":{"refreshInterval":"5m"}}')
        self.sync_status("external-secrets-config-prod", "OutOfSync")
        self.kubectl("patch", "externalsecret", "discord-webhook", "-n", "wealist-prod", "--type=merge",
                     "-p", '{"spec":{"refreshInterval":"1h"}}')
        self.sync_status("external-secrets-config-prod", "Synced")

        # Putting the Webhook strategy back breaks reads of the objects still stored as v1beta1
        # (argocd-notifications-secret was never rewritten), not of those rewritten as v1.
        self.patch_conversion(original)
        r = self.kubectl("get", "externalsecret", "argocd-notifications-secret", "-n", "argocd", check=False)
        self.assertIn("conversion webhook for external-secrets.io/v1beta1, Kind=ExternalSecret failed", r.stderr)
        self.kubectl("get", "externalsecret", "discord-webhook", "-n", "wealist-prod")
        self.patch_conversion({"strategy": "None"})


if __name__ == "__main__":
    unittest.main()
