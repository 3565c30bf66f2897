"""The REST protocol of the sandbox API server seen by a raw HTTPS client: Status errors,
authentication, conflicts, validation, patches, dry runs, subresources, garbage collection,
selectors, watch and injected faults."""

import base64
import http.client
import json
import socket
import ssl
import threading
import time
import unittest

from sandboxlib.harness import RawClient, SandboxTestCase, sandbox

NS = "proto"


def secret(name, data=None, **extra):
    obj = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name, "namespace": NS},
           "data": data or {"k": base64.b64encode(b"v").decode()}}
    obj.update(extra)
    return obj


def deployment(name, labels=None):
    lab = labels or {"app": name}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": NS},
            "spec": {"selector": {"matchLabels": lab},
                     "template": {"metadata": {"labels": lab},
                                  "spec": {"containers": [{"name": "c", "image": "example.invalid/c:1"}]}}}}


class ProtocolTest(SandboxTestCase):
    FIXTURES = []

    @classmethod
    def _after_up(cls):
        super()._after_up()
        cls.ensure_namespace(NS)

    def req(self, method, path, body=None, ctype="application/json", client=None, **kw):
        return (client or self.admin).request(method, path, body, ctype, **kw)

    def create(self, path, obj):
        s, _, body = self.req("POST", path, obj)
        self.assertEqual(s, 201, body)
        return body

    def assertStatus(self, body, code, reason, message=None):
        self.assertEqual(body["kind"], "Status")
        self.assertEqual(body["apiVersion"], "v1")
        self.assertEqual(body["metadata"], {})
        self.assertEqual(body["status"], "Failure")
        self.assertEqual(body["code"], code)
        self.assertEqual(body["reason"], reason)
        if message is not None:
            self.assertEqual(body["message"], message)

    # -- authentication / authorization ------------------------------------------------------
    def test_no_credentials_is_401(self):
        s, _, body = self.req("GET", f"/api/v1/namespaces/{NS}/secrets", client=self.anonymous)
        self.assertEqual(s, 401)
        self.assertStatus(body, 401, "Unauthorized", "Unauthorized")
        bad = RawClient(self.dir, self.port, "viewer", "not-the-token")
        s, _, body = bad.request("GET", "/api/v1/namespaces")
        bad.close()
        self.assertEqual(s, 401)

    def test_viewer_lists_but_gets_403_on_writes(self):
        s, _, body = self.req("GET", f"/api/v1/namespaces/{NS}/secrets", client=self.viewer)
        self.assertEqual(s, 200)
        self.assertEqual(body["kind"], "SecretList")
        s, _, body = self.req("POST", f"/api/v1/namespaces/{NS}/secrets", secret("v1"), client=self.viewer)
        self.assertEqual(s, 403)
        self.assertStatus(body, 403, "Forbidden", 'secrets is forbidden: User "viewer" cannot create resource '
                                                  f'"secrets" in API group "" in the namespace "{NS}"')
        s, _, body = self.req("PATCH", "/apis/apps/v1/namespaces/proto/deployments/x/scale", {"spec": {"replicas": 1}},
                              "application/merge-patch+json", client=self.viewer)
        self.assertStatus(body, 403, "Forbidden", 'deployments.apps "x" is forbidden: User "viewer" cannot patch '
                                                  'resource "deployments/scale" in API group "apps" in the namespace '
                                                  '"proto"')
        self.assertEqual(body["details"], {"name": "x", "group": "apps", "kind": "deployments"})
        s, _, body = self.req("DELETE", "/api/v1/namespaces/proto", client=self.viewer)
        self.assertIn("at the cluster scope", body["message"])
        s, _, _ = self.req("POST", "/sandbox/faults", {"target": "kube", "action": "503"}, client=self.viewer)
        self.assertEqual(s, 403)

    # -- create / get / list ---------------------------------------------------------------------
    def test_create_fills_metadata_and_rejects_duplicates(self):
        body = self.create(f"/api/v1/namespaces/{NS}/secrets", secret("meta", stringData={"pw": "hunter2"}))
        md = body["metadata"]
        self.assertRegex(md["uid"], r"^[0-9a-f-]{36}$")
        self.assertRegex(md["creationTimestamp"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
        self.assertTrue(md["resourceVersion"].isdigit())
        self.assertNotIn("stringData", body)
        self.assertEqual(body["data"]["pw"], base64.b64encode(b"hunter2").decode())
        self.assertEqual(body["type"], "Opaque")
        s, _, body = self.req("POST", f"/api/v1/namespaces/{NS}/secrets", secret("meta"))
        self.assertEqual(s, 409)
        self.assertStatus(body, 409, "AlreadyExists", 'secrets "meta" already exists')
        self.assertEqual(body["details"], {"name": "meta", "kind": "secrets"})

    def test_generate_name(self):
        obj = secret("")
        obj["metadata"] = {"generateName": "gen-", "namespace": NS}
        body = self.create(f"/api/v1/namespaces/{NS}/secrets", obj)
        self.assertRegex(body["metadata"]["name"], r"^gen-[a-z0-9]{5}$")

    def test_validation_errors(self):
        s, _, body = self.req("POST", f"/api/v1/namespaces/{NS}/secrets", secret("Bad_Name"))
        self.assertEqual(s, 422)
        self.assertStatus(body, 422, "Invalid")
        self.assertTrue(body["message"].startswith('Secret "Bad_Name" is invalid: metadata.name: Invalid value: '
                                                   '"Bad_Name": a lowercase RFC 1123 subdomain'))
        self.assertEqual(body["details"]["causes"][0]["field"], "metadata.name")
        self.assertEqual(body["details"]["causes"][0]["reason"], "FieldValueInvalid")
        s, _, body = self.req("POST", f"/api/v1/namespaces/{NS}/secrets", {"apiVersion": "v1", "kind": "Secret",
                                                                          "metadata": {}})
        self.assertEqual(body["message"], 'Secret "" is invalid: metadata.name: Required value: name or generateName '
                                          'is required')
        s, _, body = self.req("POST", f"/api/v1/namespaces/{NS}/secrets", secret("b64", {"k": "not base64!"}))
        self.assertEqual(s, 400)
        self.assertStatus(body, 400, "BadRequest")
        self.assertIn("illegal base64 data at input byte 3", body["message"])
        orphan = secret("x")
        del orphan["metadata"]["namespace"]
        s, _, body = self.req("POST", "/api/v1/namespaces/nowhere/secrets", orphan)
        self.assertEqual(s, 404)
        self.assertStatus(body, 404, "NotFound", 'namespaces "nowhere" not found')
        s, _, body = self.req("POST", f"/apis/apps/v1/namespaces/{NS}/deployments", deployment("sel", None) |
                              {"spec": deployment("sel")["spec"] | {"selector": {"matchLabels": {"app": "other"}}}})
        self.assertEqual(s, 422)
        self.assertIn("`selector` does not match template `labels`", body["message"])
        for path in (f"/api/v1/namespaces/{NS}/secrets", f"/api/v1/namespaces/{NS}/secrets/x"):
            s, _, body = self.req("GET", path.replace("secrets", "widgets"))
            self.assertEqual(s, 404)
        self.assertEqual(self.req("GET", f"/api/v1/namespaces/{NS}/secrets/Bad_Name")[0], 404)

    def test_list_with_label_and_field_selectors(self):
        for name, labels in (("sel-a", {"tier": "db", "env": "prod"}), ("sel-b", {"tier": "web", "env": "prod"}),
                             ("sel-c", {"tier": "db"})):
            obj = secret(name)
            obj["metadata"]["labels"] = labels
            self.create(f"/api/v1/namespaces/{NS}/secrets", obj)

        def names(query):
            s, _, body = self.req("GET", f"/api/v1/namespaces/{NS}/secrets?{query}")
            self.assertEqual(s, 200, body)
            return sorted(i["metadata"]["name"] for i in body["items"] if i["metadata"]["name"].startswith("sel-"))
        self.assertEqual(names("labelSelector=tier%3Ddb"), ["sel-a", "sel-c"])
        self.assertEqual(names("labelSelector=tier%20in%20(db,web),env"), ["sel-a", "sel-b"])
        self.assertEqual(names("labelSelector=!env"), ["sel-c"])
        self.assertEqual(names("labelSelector=tier!%3Ddb"), ["sel-b"])
        self.assertEqual(names("labelSelector=tier%20notin%20(web)"), ["sel-a", "sel-c"])
        self.assertEqual(names("fieldSelector=metadata.name%3Dsel-b"), ["sel-b"])
        s, _, body = self.req("GET", "/api/v1/secrets?labelSelector=tier%3Ddb")
        self.assertEqual(body["kind"], "SecretList")
        self.assertTrue(body["metadata"]["resourceVersion"])
        self.assertNotIn("kind", body["items"][0])      # items of built-in lists carry no kind, as on a real server

    # -- update / status / generation ------------------------------------------------------------
    def test_stale_resource_version_put_is_409(self):
        # a CronJob: no sandbox controller writes to it, so nothing else moves its resourceVersion
        base = f"/apis/batch/v1/namespaces/{NS}/cronjobs"
        cur = self.create(base, {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "rv"},
                                 "spec": {"schedule": "0 1 * * *", "jobTemplate": {"spec": {"template": {"spec": {
                                     "restartPolicy": "Never",
                                     "containers": [{"name": "c", "image": "example.invalid/c:1"}]}}}}}})
        self.assertEqual(cur["metadata"]["generation"], 1)
        self.assertEqual(cur["spec"]["concurrencyPolicy"], "Allow")       # defaulted
        upd = json.loads(json.dumps(cur))
        upd["spec"]["schedule"] = "0 2 * * *"
        s, _, new = self.req("PUT", f"{base}/rv", upd)
        self.assertEqual(s, 200, new)
        self.assertEqual(new["metadata"]["generation"], 2)
        upd["spec"]["schedule"] = "0 3 * * *"       # still carries the old resourceVersion
        s, _, body = self.req("PUT", f"{base}/rv", upd)
        self.assertEqual(s, 409)
        self.assertStatus(body, 409, "Conflict", 'Operation cannot be fulfilled on cronjobs.batch "rv": the object '
                                                 'has been modified; please apply your changes to the latest version '
                                                 'and try again')
        self.assertEqual(body["details"], {"name": "rv", "group": "batch", "kind": "cronjobs"})
        s, _, now = self.req("GET", f"{base}/rv")
        self.assertEqual(now["spec"]["schedule"], "0 2 * * *")
        # metadata-only change: resourceVersion moves, generation does not
        now["metadata"]["labels"] = {"x": "y"}
        s, _, lab = self.req("PUT", f"{base}/rv", now)
        self.assertEqual(lab["metadata"]["generation"], 2)
        self.assertGreater(int(lab["metadata"]["resourceVersion"]), int(now["metadata"]["resourceVersion"]))
        # status goes through /status only
        s, _, main = self.req("PUT", f"{base}/rv", lab | {"status": {"lastScheduleTime": "2024-01-01T00:00:00Z"}})
        self.assertNotIn("lastScheduleTime", main.get("status") or {})
        s, _, st = self.req("PUT", f"{base}/rv/status", main | {"status": {"lastScheduleTime": "2024-01-01T00:00:00Z"}})
        self.assertEqual(s, 200, st)
        self.assertEqual(st["status"]["lastScheduleTime"], "2024-01-01T00:00:00Z")
        self.assertEqual(st["metadata"]["generation"], 2)
        s, _, body = self.req("PUT", f"{base}/other", st)
        self.assertEqual(s, 400)
        self.assertEqual(body["message"], "the name of the object (rv) does not match the name on the URL (other)")

    def test_field_validation(self):
        obj = secret("fv")
        obj["strinData"] = {"a": "b"}
        s, _, body = self.req("POST", f"/api/v1/namespaces/{NS}/secrets?fieldValidation=Strict", obj)
        self.assertStatus(body, 400, "BadRequest", 'Secret in version "v1" cannot be handled as a Secret: strict '
                                                   'decoding error: unknown field "strinData"')
        s, headers, body = self.req("POST", f"/api/v1/namespaces/{NS}/secrets", obj)
        self.assertEqual(s, 201)
        self.assertEqual(headers["Warning"], '299 - "unknown field \\"strinData\\""')
        s, headers, body = self.req("GET", f"/api/v1/namespaces/{NS}/secrets/fv")
        self.assertIsNone(headers["Warning"])

    def test_immutable_fields(self):
        self.create(f"/apis/apps/v1/namespaces/{NS}/deployments", deployment("imm"))
        s, _, body = self.req("PATCH", f"/apis/apps/v1/namespaces/{NS}/deployments/imm",
                              {"spec": {"selector": {"matchLabels": {"app": "z"}},
                                        "template": {"metadata": {"labels": {"app": "z"}}}}},
                              "application/merge-patch+json")
        self.assertEqual(s, 422)
        self.assertEqual(body["message"], 'Deployment.apps "imm" is invalid: spec.selector: Invalid value: '
                                          'v1.LabelSelector{MatchLabels:map[string]string{"app":"z"}, '
                                          'MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: field is immutable')
        job = self.create(f"/apis/batch/v1/namespaces/{NS}/jobs", {
            "apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "imm"},
            "spec": {"suspend": True, "template": {"spec": {"restartPolicy": "Never", "containers": [
                {"name": "c", "image": "example.invalid/c:1"}]}}}})
        s, _, body = self.req("PATCH", f"/apis/batch/v1/namespaces/{NS}/jobs/imm",
                              {"spec": {"template": {"spec": {"containers": [{"name": "c", "env": [
                                  {"name": "A", "value": "1"}]}]}}}}, "application/strategic-merge-patch+json")
        self.assertEqual(s, 422)
        self.assertIn("spec.template: Invalid value", body["message"])
        self.assertIn("field is immutable", body["message"])
        s, _, body = self.req("PATCH", f"/apis/batch/v1/namespaces/{NS}/jobs/imm",
                              {"metadata": {"labels": {"x": "y"}}, "spec": {"suspend": False}},
                              "application/merge-patch+json")
        self.assertEqual(s, 200, body)       # labels and suspend may change
        del job
        self.create(f"/api/v1/namespaces/{NS}/secrets", secret("imm", immutable=True))
        s, _, body = self.req("PATCH", f"/api/v1/namespaces/{NS}/secrets/imm", {"data": {"k": "eA=="}},
                              "application/merge-patch+json")
        self.assertStatus(body, 422, "Invalid", 'Secret "imm" is invalid: data: Forbidden: field is immutable when '
                                                '`immutable` is set')
        s, _, body = self.req("DELETE", "/api/v1/namespaces/default")
        self.assertStatus(body, 403, "Forbidden", 'namespaces "default" is forbidden: this namespace may not be deleted')

    # -- patches -----------------------------------------------------------------------------------
    def test_patch_flavours(self):
        self.create(f"/apis/apps/v1/namespaces/{NS}/deployments", deployment("pt"))
        path = f"/apis/apps/v1/namespaces/{NS}/deployments/pt"
        s, _, body = self.req("PATCH", path, {"spec": {"template": {"spec": {"containers": [
            {"name": "sidecar", "image": "example.invalid/s:1"}]}}}}, "application/strategic-merge-patch+json")
        self.assertEqual([c["name"] for c in body["spec"]["template"]["spec"]["containers"]], ["sidecar", "c"])
        s, _, body = self.req("PATCH", path, {"spec": {"template": {"spec": {"containers": [
            {"name": "only", "image": "example.invalid/o:1"}]}}}}, "application/merge-patch+json")
        self.assertEqual([c["name"] for c in body["spec"]["template"]["spec"]["containers"]], ["only"])
        s, _, body = self.req("PATCH", path, [{"op": "add", "path": "/metadata/labels", "value": {"a/b": "1"}},
                                              {"op": "move", "from": "/metadata/labels/a~1b",
                                               "path": "/metadata/labels/c"}], "application/json-patch+json")
        self.assertEqual(s, 200, body)
        self.assertEqual(body["metadata"]["labels"], {"c": "1"})
        s, _, body = self.req("PATCH", path, [{"op": "replace", "path": "/spec/nope/x", "value": 1}],
                              "application/json-patch+json")
        self.assertEqual(s, 422)
        self.assertStatus(body, 422, "Invalid")
        s, _, body = self.req("PATCH", path, {"metadata": {"resourceVersion": "1"}, "spec": {"replicas": 2}},
                              "application/merge-patch+json")
        self.assertEqual(s, 409)
        s, _, body = self.req("PATCH", f"/apis/apps/v1/namespaces/{NS}/deployments/missing", {},
                              "application/merge-patch+json")
        self.assertStatus(body, 404, "NotFound", 'deployments.apps "missing" not found')
        s, _, body = self.req("PATCH", path, "{}", "text/plain")
        self.assertEqual(s, 415)

    def test_apply_patch(self):
        path = f"/api/v1/namespaces/{NS}/configmaps/ssa"
        doc = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ssa\n  namespace: proto\ndata:\n  a: '1'\n"
        s, _, body = self.req("PATCH", path, doc, "application/apply-patch+yaml")
        self.assertEqual(s, 400)
        self.assertIn("fieldManager", body["message"])
        s, _, body = self.req("PATCH", path + "?fieldManager=test", doc, "application/apply-patch+yaml")
        self.assertEqual(s, 201, body)
        s, _, body = self.req("PATCH", path + "?fieldManager=other", doc.replace("a: '1'", "b: '2'"),
                              "application/apply-patch+yaml")
        self.assertEqual(s, 200, body)
        self.assertEqual(body["data"], {"a": "1", "b": "2"})
        # the same manager applying without "a" removes it; "b" belongs to the other manager and stays
        s, _, body = self.req("PATCH", path + "?fieldManager=test&force=true", doc.replace("a: '1'", "c: '3'"),
                              "application/apply-patch+yaml")
        self.assertEqual(body["data"], {"b": "2", "c": "3"})
        # lists of objects merge by key; items the manager no longer applies go
        dep = deployment("ssa")
        dep["spec"]["template"]["spec"]["containers"][0]["env"] = [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]
        dpath = f"/apis/apps/v1/namespaces/{NS}/deployments/ssa?fieldManager=runbook&force=true"
        s, _, body = self.req("PATCH", dpath, json.dumps(dep), "application/apply-patch+yaml")
        self.assertEqual(s, 201, body)
        dep["spec"]["template"]["spec"]["containers"][0]["env"] = [{"name": "A", "value": "9"}]
        s, _, body = self.req("PATCH", dpath, json.dumps(dep), "application/apply-patch+yaml")
        self.assertEqual(body["spec"]["template"]["spec"]["containers"][0]["env"], [{"name": "A", "value": "9"}])
        self.assertEqual(body["spec"]["replicas"], 1)           # defaulted, not applied: kept

    def test_inline_struct_fields_in_apply_patch_and_strict_create(self):
        """What the runbook tool sends (apply-patch+yaml, fieldManager=runbook) and a Strict create:
        fields of Go structs embedded inline (Probe's handler, Volume's source) are the parent's."""
        dep = deployment("inl")
        c = dep["spec"]["template"]["spec"]["containers"][0]
        c["readinessProbe"] = {"exec": {"command": ["pg_isready", "-U", "app"]}, "periodSeconds": 2}
        c["livenessProbe"] = {"httpGet": {"path": "/live", "port": 8080}}
        c["lifecycle"] = {"preStop": {"exec": {"command": ["sh", "-c", "sleep 1"]}}}
        c["volumeMounts"] = [{"name": "data", "mountPath": "/data"}]
        dep["spec"]["template"]["spec"]["volumes"] = [{"name": "data", "persistentVolumeClaim": {"claimName": "d"}},
                                                      {"name": "tmp", "emptyDir": {"medium": "Memory"}}]
        path = f"/apis/apps/v1/namespaces/{NS}/deployments/inl?fieldManager=runbook&force=true"
        s, _, body = self.req("PATCH", path, json.dumps(dep), "application/apply-patch+yaml")
        self.assertEqual(s, 201, body)
        got = body["spec"]["template"]["spec"]
        self.assertEqual(got["containers"][0]["readinessProbe"]["exec"], {"command": ["pg_isready", "-U", "app"]})
        self.assertEqual(got["volumes"][0]["persistentVolumeClaim"], {"claimName": "d"})
        pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "inl", "namespace": NS},
               "spec": dep["spec"]["template"]["spec"]}
        s, _, body = self.req("POST", f"/api/v1/namespaces/{NS}/pods?fieldValidation=Strict", pod)
        self.assertEqual(s, 201, body)
        self.assertEqual(body["spec"]["containers"][0]["livenessProbe"]["httpGet"]["path"], "/live")
        # ObjectMeta is embedded under "metadata", not inline: its fields are unknown at the top
        bad = dict(dep, name="inl")
        bad["spec"] = json.loads(json.dumps(dep["spec"]))
        bad["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]["exec"]["cmd"] = ["x"]
        s, _, body = self.req("PATCH", path, json.dumps(bad), "application/apply-patch+yaml")
        self.assertStatus(body, 400, "BadRequest",
                          f"failed to create typed patch object ({NS}/inl; apps/v1, Kind=Deployment): "
                          ".spec.template.spec.containers[0].readinessProbe.exec.cmd: field not declared in schema, "
                          ".name: field not declared in schema")
        pod["metadata"]["name"] = "inl2"
        pod["spec"]["volumes"][1]["emptyDir"]["medum"] = "Memory"
        s, _, body = self.req("POST", f"/api/v1/namespaces/{NS}/pods?fieldValidation=Strict", pod)
        self.assertStatus(body, 400, "BadRequest", 'Pod in version "v1" cannot be handled as a Pod: strict decoding '
                                                   'error: unknown field "spec.volumes[1].emptyDir.medum"')

    def test_custom_resources(self):
        es = {"apiVersion": "external-secrets.io/v1beta1", "kind": "ExternalSecret",
              "metadata": {"name": "cr", "namespace": NS},
              "spec": {"secretStoreRef": {"kind": "ClusterSecretStore", "name": "none"}, "target": {"name": "cr-t"},
                       "data": [{"secretKey": "k", "remoteRef": {"key": "r"}}]}}
        body = self.create(f"/apis/external-secrets.io/v1beta1/namespaces/{NS}/externalsecrets", es)
        self.assertEqual(body["apiVersion"], "external-secrets.io/v1beta1")
        s, _, v1 = self.req("GET", f"/apis/external-secrets.io/v1/namespaces/{NS}/externalsecrets/cr")
        self.assertEqual(v1["apiVersion"], "external-secrets.io/v1")
        self.assertEqual(v1["metadata"]["uid"], body["metadata"]["uid"])
        s, _, body = self.req("PATCH", f"/apis/external-secrets.io/v1/namespaces/{NS}/externalsecrets/cr",
                              {"spec": {"refreshInterval": "1m"}}, "application/strategic-merge-patch+json")
        self.assertEqual(s, 415)
        self.assertStatus(body, 415, "UnsupportedMediaType")
        put = dict(v1)
        put["metadata"] = {k: v for k, v in v1["metadata"].items() if k != "resourceVersion"}
        s, _, body = self.req("PUT", f"/apis/external-secrets.io/v1/namespaces/{NS}/externalsecrets/cr", put)
        self.assertEqual(s, 422)
        self.assertIn("metadata.resourceVersion: Invalid value: 0x0: must be specified for an update", body["message"])
        css = {"apiVersion": "external-secrets.io/v1", "kind": "ClusterSecretStore", "metadata": {"name": "cs"},
               "spec": {"provider": {"fake": {}}}}
        self.create("/apis/external-secrets.io/v1/clustersecretstores", css)
        for kind, group, version, plural in (("SealedSecret", "bitnami.com", "v1alpha1", "sealedsecrets"),
                                             ("Application", "argoproj.io", "v1alpha1", "applications")):
            obj = {"apiVersion": f"{group}/{version}", "kind": kind, "metadata": {"name": "x", "namespace": NS},
                   "spec": {}}
            self.create(f"/apis/{group}/{version}/namespaces/{NS}/{plural}", obj)

    # -- dry run -----------------------------------------------------------------------------------
    def test_dry_run_all_on_every_write(self):
        base = f"/api/v1/namespaces/{NS}/configmaps"
        s, _, body = self.req("POST", base + "?dryRun=All", {"apiVersion": "v1", "kind": "ConfigMap",
                                                            "metadata": {"name": "dr"}, "data": {"a": "1"}})
        self.assertEqual(s, 201)
        self.assertEqual(self.req("GET", base + "/dr")[0], 404)
        s, _, bad = self.req("POST", base + "?dryRun=All", {"apiVersion": "v1", "kind": "ConfigMap",
                                                           "metadata": {"name": "Bad!"}})
        self.assertEqual(s, 422)        # validation still runs
        cur = self.create(base, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "dr"}, "data": {"a": "1"}})
        s, _, body = self.req("PUT", base + "/dr?dryRun=All", cur | {"data": {"a": "2"}})
        self.assertEqual(body["data"], {"a": "2"})
        s, _, body = self.req("PATCH", base + "/dr?dryRun=All", {"data": {"a": "3"}}, "application/merge-patch+json")
        self.assertEqual(body["data"], {"a": "3"})
        s, _, body = self.req("DELETE", base + "/dr?dryRun=All")
        self.assertEqual(s, 200)
        s, _, after = self.req("GET", base + "/dr")
        self.assertEqual(after, cur)

    # -- delete and garbage collection -----------------------------------------------------------
    def test_delete_cascades_to_dependents(self):
        job = self.create(f"/apis/batch/v1/namespaces/{NS}/jobs", {
            "apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "gc", "namespace": NS},
            "spec": {"suspend": True, "template": {"spec": {"restartPolicy": "Never", "containers": [
                {"name": "c", "image": "example.invalid/gc:1"}]}}}})
        self.assertEqual(job["spec"]["template"]["metadata"]["labels"]["job-name"], "gc")
        owner = [{"apiVersion": "batch/v1", "kind": "Job", "name": "gc", "uid": job["metadata"]["uid"],
                  "controller": True}]
        for n in ("gc-a", "gc-b"):
            obj = secret(n)
            obj["metadata"]["ownerReferences"] = owner
            self.create(f"/api/v1/namespaces/{NS}/secrets", obj)
        s, _, body = self.req("DELETE", f"/apis/batch/v1/namespaces/{NS}/jobs/gc",
                              {"kind": "DeleteOptions", "apiVersion": "v1", "propagationPolicy": "Background"})
        self.assertEqual(s, 200)
        self.assertEqual(body["status"], "Success")
        self.assertEqual(body["details"]["uid"], job["metadata"]["uid"])
        for n in ("gc-a", "gc-b"):
            self.assertEqual(self.req("GET", f"/api/v1/namespaces/{NS}/secrets/{n}")[0], 404)
        # Orphan keeps the dependent and removes the reference
        dep = self.create(f"/apis/apps/v1/namespaces/{NS}/deployments", deployment("orph"))
        obj = secret("orph-s")
        obj["metadata"]["ownerReferences"] = [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "orph",
                                               "uid": dep["metadata"]["uid"]}]
        self.create(f"/api/v1/namespaces/{NS}/secrets", obj)
        s, _, _ = self.req("DELETE", f"/apis/apps/v1/namespaces/{NS}/deployments/orph?propagationPolicy=Orphan")
        self.assertEqual(s, 200)
        s, _, kept = self.req("GET", f"/api/v1/namespaces/{NS}/secrets/orph-s")
        self.assertEqual(s, 200)
        self.assertNotIn("ownerReferences", kept["metadata"])
        s, _, body = self.req("DELETE", f"/apis/apps/v1/namespaces/{NS}/deployments/orph")
        self.assertStatus(body, 404, "NotFound", 'deployments.apps "orph" not found')

    def test_scale_subresource(self):
        self.create(f"/apis/apps/v1/namespaces/{NS}/deployments", deployment("sc"))
        path = f"/apis/apps/v1/namespaces/{NS}/deployments/sc/scale"
        s, _, sc = self.req("GET", path)
        self.assertEqual((sc["kind"], sc["apiVersion"], sc["spec"]["replicas"]), ("Scale", "autoscaling/v1", 1))
        self.assertEqual(sc["status"]["selector"], "app=sc")
        sc["spec"]["replicas"] = 4
        del sc["metadata"]["resourceVersion"]       # unconditional: the controller keeps writing status
        s, _, body = self.req("PUT", path, sc)
        self.assertEqual(body["spec"]["replicas"], 4, body)
        s, _, body = self.req("PATCH", path, {"spec": {"replicas": 0}}, "application/merge-patch+json")
        self.assertEqual(body["spec"]["replicas"], 0)
        s, _, d = self.req("GET", f"/apis/apps/v1/namespaces/{NS}/deployments/sc")
        self.assertEqual(d["spec"]["replicas"], 0)
        sc["metadata"]["resourceVersion"] = "1"        # stale
        s, _, body = self.req("PUT", path, sc)
        self.assertEqual(s, 409)

    def test_pod_log_errors(self):
        s, _, body = self.req("GET", f"/api/v1/namespaces/{NS}/pods/none/log")
        self.assertStatus(body, 404, "NotFound", 'pods "none" not found')

    # -- watch -------------------------------------------------------------------------------------
    def test_watch_sees_changes(self):
        ctx = self.admin.ctx
        sock = socket.create_connection(("127.0.0.1", self.port), timeout=10)
        tls = ctx.wrap_socket(sock, server_hostname="127.0.0.1")
        tls.sendall(f"GET /api/v1/namespaces/{NS}/configmaps?watch=true&fieldSelector=metadata.name%3Dwatched "
                    f"HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        f = tls.makefile("rb")
        self.assertIn(b"200", f.readline())
        while f.readline() not in (b"\r\n", b""):
            pass
        self.create(f"/api/v1/namespaces/{NS}/configmaps", {"apiVersion": "v1", "kind": "ConfigMap",
                                                           "metadata": {"name": "watched"}})
        f.readline()                     # chunk size
        event = json.loads(f.readline())
        self.assertEqual(event["type"], "ADDED")
        self.assertEqual(event["object"]["metadata"]["name"], "watched")
        tls.close()

    def open_watch(self, path: str):
        """A raw watch request: (socket, iterator over its events as they arrive)."""
        sock = socket.create_connection(("127.0.0.1", self.port), timeout=10)
        tls = self.admin.ctx.wrap_socket(sock, server_hostname="127.0.0.1")
        tls.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        f = tls.makefile("rb")
        self.assertIn(b"200", f.readline())
        while f.readline() not in (b"\r\n", b""):
            pass

        def events():
            for line in f:
                if line.startswith(b"{"):
                    yield json.loads(line)
        return tls, events()

    def test_watch_from_a_resource_version_replays_history(self):
        base = f"/api/v1/namespaces/{NS}/configmaps"
        first = self.create(base, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "hist"}})
        rv = first["metadata"]["resourceVersion"]
        # a live watch started before the changes sees them fanned out: then they are in the history
        # (one dispatcher thread, in order) before the watch from `rv` below starts
        live, events = self.open_watch(f"{base}?watch=1&resourceVersion={rv}&fieldSelector=metadata.name%3Dhist")
        s, _, upd = self.req("PATCH", base + "/hist", {"data": {"a": "1"}}, "application/merge-patch+json")
        self.req("DELETE", base + "/hist")
        self.assertEqual([next(events)["type"] for _ in range(2)], ["MODIFIED", "DELETED"])
        live.close()
        s, _, text = self.req("GET", f"{base}?watch=1&resourceVersion={rv}&fieldSelector=metadata.name%3Dhist"
                                     f"&timeoutSeconds=1")
        events = [json.loads(line) for line in text.splitlines() if line.strip()]
        self.assertEqual([e["type"] for e in events], ["MODIFIED", "DELETED"])
        self.assertEqual(events[0]["object"]["data"], {"a": "1"})
        self.assertEqual(events[0]["object"]["kind"], "ConfigMap")

    # -- faults -------------------------------------------------------------------------------------
    def setUp(self):
        self.req("DELETE", "/sandbox/faults")

    def test_injected_http_errors(self):
        sandbox("fault", "--dir", self.dir, "--target", "kube", "--method", "GET", "--path", "/secrets/f503$",
                "--count", "2", "--action", "503")
        path = f"/api/v1/namespaces/{NS}/secrets/f503"
        for _ in range(2):
            s, headers, body = self.req("GET", path)
            self.assertEqual(s, 503)
            self.assertEqual(headers["Retry-After"], "1")
            self.assertStatus(body, 503, "ServiceUnavailable")
        s, _, body = self.req("GET", path)
        self.assertEqual(s, 404)         # the rule is used up
        self.req("POST", "/sandbox/faults", {"target": "kube", "path": "f429", "action": "429"})
        s, headers, body = self.req("GET", path.replace("f503", "f429"))
        self.assertEqual((s, headers["Retry-After"], body["reason"]), (429, "1", "TooManyRequests"))
        self.req("POST", "/sandbox/faults", {"target": "kube", "path": f"/namespaces/{NS}/secrets$", "action": "500",
                                             "method": "POST"})
        s, _, body = self.req("GET", f"/api/v1/namespaces/{NS}/secrets")
        self.assertEqual(s, 200)         # method does not match
        s, _, body = self.req("POST", f"/api/v1/namespaces/{NS}/secrets", secret("f500"))
        self.assertStatus(body, 500, "InternalError")
        self.assertEqual(self.req("GET", path.replace("f503", "f500"))[0], 404)   # nothing was written
        s, _, body = self.req("POST", "/sandbox/faults", {"target": "kube", "action": "explode"})
        self.assertEqual(s, 400)

    def test_injected_reset_timeout_and_slow(self):
        client = RawClient(self.dir, self.port, "admin")
        self.req("POST", "/sandbox/faults", {"target": "kube", "path": "/configmaps/reset$", "action": "reset"})
        with self.assertRaises((ConnectionResetError, http.client.RemoteDisconnected, ssl.SSLError,
                                ConnectionAbortedError)):
            client.request("GET", f"/api/v1/namespaces/{NS}/configmaps/reset", fresh=True)
        self.assertEqual(client.request("GET", f"/api/v1/namespaces/{NS}/configmaps/reset", fresh=True)[0], 404)
        self.req("POST", "/sandbox/faults", {"target": "kube", "path": "/configmaps/hang$", "action": "timeout",
                                             "delay": 1})
        t0 = time.monotonic()
        with self.assertRaises((http.client.RemoteDisconnected, ConnectionResetError, ssl.SSLError)):
            client.request("GET", f"/api/v1/namespaces/{NS}/configmaps/hang", fresh=True)
        self.assertGreaterEqual(time.monotonic() - t0, 0.9)
        self.req("POST", "/sandbox/faults", {"target": "kube", "path": "/configmaps/slow$", "action": "slow",
                                             "delay": 1})
        t0 = time.monotonic()
        s, _, _ = client.request("GET", f"/api/v1/namespaces/{NS}/configmaps/slow", fresh=True)
        self.assertEqual(s, 404)
        self.assertGreaterEqual(time.monotonic() - t0, 0.9)
        # a slow request does not hold up others
        self.req("POST", "/sandbox/faults", {"target": "kube", "path": "/configmaps/slow2$", "action": "slow",
                                             "delay": 2})
        slow_answer = []
        th = threading.Thread(target=lambda: slow_answer.append(
            client.request("GET", f"/api/v1/namespaces/{NS}/configmaps/slow2", fresh=True)[0]))
        th.start()
        # in flight: the server has taken the rule (it fired) and holds the request
        deadline = time.monotonic() + 10
        while not any(r["path"] == "/configmaps/slow2$" and r["fired"] == 1
                      for r in self.req("GET", "/sandbox/faults")[2]["history"]):
            self.assertLess(time.monotonic(), deadline, "the slow request never reached the server")
            time.sleep(0.02)
        t0 = time.monotonic()
        self.assertEqual(self.req("GET", "/version")[0], 200)
        self.assertLess(time.monotonic() - t0, 1.0)
        self.assertTrue(th.is_alive(), "the slow request was still being held while /version was answered")
        th.join()
        self.assertEqual(slow_answer, [404])     # then served normally
        sandbox("fault", "--dir", self.dir, "--target", "kube", "--path", "never", "--action", "503")
        s, _, body = self.req("GET", "/sandbox/faults")
        self.assertEqual(len(body["rules"]), 1)
        self.assertEqual((body["rules"][0]["count"], body["rules"][0]["fired"]), (1, 0))
        # the history keeps used-up rules with how often they fired
        fired = {r["path"]: (r["fired"], r["count"]) for r in body["history"]}
        self.assertEqual(fired["/configmaps/reset$"], (1, 0))
        self.assertEqual(fired["never"], (0, 1))
        listed = json.loads(sandbox("fault", "--dir", self.dir, "--list").stdout)
        self.assertEqual(listed, body)
        sandbox("fault", "--dir", self.dir, "--clear")
        self.assertEqual(self.req("GET", "/sandbox/faults")[2], {"rules": [], "history": []})


if __name__ == "__main__":
    unittest.main()
