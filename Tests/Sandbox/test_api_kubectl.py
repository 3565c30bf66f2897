"""Real kubectl against the sandbox API server: get, apply, patch, create job --from, delete,
dry-run, the read-only viewer, scale, logs, discovery."""

import json
import time
import unittest

from sandboxlib.harness import SandboxTestCase

CRONJOB = """
apiVersion: batch/v1
kind: CronJob
metadata:
  name: nightly
  namespace: kt
spec:
  schedule: "0 3 * * *"
  jobTemplate:
    spec:
      backoffLimit: 1
      template:
        spec:
          restartPolicy: Never
          containers:
          - name: work
            image: example.invalid/nightly:2.1
            env:
            - name: DATABASE_URL
              valueFrom:
                secretKeyRef: {name: db, key: url, optional: true}
            envFrom:
            - configMapRef: {name: settings}
            resources:
              limits: {memory: 256Mi}
            volumeMounts:
            - {name: scratch, mountPath: /scratch}
          volumes:
          - name: scratch
            emptyDir: {}
"""

APP_V1 = """
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
  namespace: kt
data:
  MODE: one
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
  namespace: kt
  labels: {app: api}
spec:
  selector:
    matchLabels: {app: api}
  template:
    metadata:
      labels: {app: api}
    spec:
      containers:
      - name: api
        image: example.invalid/api:1.0
        env:
        - {name: LEVEL, value: info}
"""

# Fields that Go embeds inline (Probe → ProbeHandler, Volume → VolumeSource, ConfigMapVolumeSource →
# LocalObjectReference, EnvFromSource refs) next to ordinary nested ones (Lifecycle → LifecycleHandler).
PROBED = """
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: probed
  namespace: kt
spec:
  replicas: 0
  serviceName: probed
  selector:
    matchLabels: {app: probed}
  template:
    metadata:
      labels: {app: probed}
    spec:
      containers:
      - name: db
        image: example.invalid/db:1
        readinessProbe:
          exec:
            command: [sh, -c, "true"]
          periodSeconds: 5
        livenessProbe:
          exec:
            command: [sh, -c, "exit 0"]
          initialDelaySeconds: 10
        startupProbe:
          httpGet: {path: /healthz, port: 8080}
          failureThreshold: 30
        lifecycle:
          preStop:
            exec:
              command: [sh, -c, "sleep 1"]
          postStart:
            httpGet: {path: /started, port: 8080}
        envFrom:
        - secretRef: {name: creds, optional: true}
        volumeMounts:
        - {name: data, mountPath: /data}
        - {name: scratch, mountPath: /scratch}
        - {name: conf, mountPath: /conf}
        - {name: certs, mountPath: /certs}
      - name: sidecar
        image: example.invalid/sidecar:1
        readinessProbe:
          tcpSocket: {port: 9000}
      volumes:
      - name: data
        persistentVolumeClaim: {claimName: probed-data}
      - name: scratch
        emptyDir: {}
      - name: conf
        configMap: {name: settings, optional: true}
      - name: certs
        secret: {secretName: certs, optional: true}
"""


class KubectlTest(SandboxTestCase):
    FIXTURES = ["calibrate-irt"]

    @classmethod
    def _after_up(cls):
        super()._after_up()
        cls.ensure_namespace("kt")

    def test_discovery_with_get_raw(self):
        api = json.loads(self.kubectl("get", "--raw", "/api").stdout)
        self.assertEqual(api["kind"], "APIVersions")
        self.assertEqual(api["versions"], ["v1"])
        core = json.loads(self.kubectl("get", "--raw", "/api/v1").stdout)
        names = {r["name"]: r for r in core["resources"]}
        for n in ("namespaces", "secrets", "configmaps", "services", "persistentvolumeclaims", "pods", "pods/log"):
            self.assertIn(n, names)
        self.assertFalse(names["namespaces"]["namespaced"])
        self.assertEqual(names["pods/log"]["verbs"], ["get"])
        apis = json.loads(self.kubectl("get", "--raw", "/apis").stdout)
        groups = {g["name"]: g for g in apis["groups"]}
        self.assertEqual(groups["external-secrets.io"]["preferredVersion"]["version"], "v1")
        self.assertEqual([v["version"] for v in groups["external-secrets.io"]["versions"]], ["v1", "v1beta1"])
        for g in ("apps", "batch", "apiextensions.k8s.io", "bitnami.com", "argoproj.io"):
            self.assertIn(g, groups)
        apps = json.loads(self.kubectl("get", "--raw", "/apis/apps/v1").stdout)
        scale = next(r for r in apps["resources"] if r["name"] == "deployments/scale")
        self.assertEqual((scale["group"], scale["version"], scale["kind"]), ("autoscaling", "v1", "Scale"))
        es = json.loads(self.kubectl("get", "--raw", "/apis/external-secrets.io/v1beta1").stdout)
        self.assertIn("externalsecrets", [r["name"] for r in es["resources"]])
        css = next(r for r in es["resources"] if r["name"] == "clustersecretstores")
        self.assertFalse(css["namespaced"])
        ver = json.loads(self.kubectl("version", "-o", "json").stdout)
        self.assertEqual(ver["serverVersion"]["major"], "1")
        out = self.kubectl("api-resources").stdout
        self.assertIn("externalsecrets", out)
        self.assertIn("sealedsecrets", out)

    def test_get_fixture_objects(self):
        out = self.kubectl("get", "secrets", "-n", "seedtest").stdout
        self.assertIn("seedtest-db-credentials", out)
        cj = self.kget("cronjob", "calibrate-irt-weekly", "-n", "seedtest")
        self.assertEqual(cj["kind"], "CronJob")
        self.assertTrue(cj["metadata"]["uid"])
        self.assertTrue(cj["metadata"]["resourceVersion"])
        self.assertEqual(cj["metadata"]["generation"], 1)
        css = self.kget("clustersecretstore", "gcp-secret-store")
        self.assertEqual(css["spec"]["provider"]["gcpsm"]["projectID"], "univprepai")
        p = self.kubectl("get", "secret", "nope", "-n", "seedtest", check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn('Error from server (NotFound): secrets "nope" not found', p.stderr)

    def test_apply_creates_then_updates(self):
        p = self.kubectl("apply", "-f", "-", input=APP_V1)
        self.assertIn("configmap/settings created", p.stdout)
        self.assertIn("deployment.apps/api created", p.stdout)
        d1 = self.kget("deployment", "api", "-n", "kt")
        self.assertEqual(d1["spec"]["replicas"], 1)          # defaulted by the server
        self.assertEqual(d1["metadata"]["generation"], 1)
        self.assertIn("kubectl.kubernetes.io/last-applied-configuration", d1["metadata"]["annotations"])
        p = self.kubectl("apply", "-f", "-", input=APP_V1)
        self.assertIn("deployment.apps/api unchanged", p.stdout)
        v2 = APP_V1.replace("MODE: one", "MODE: two").replace("value: info", "value: debug")
        p = self.kubectl("apply", "-f", "-", input=v2)
        self.assertIn("configmap/settings configured", p.stdout)
        self.assertIn("deployment.apps/api configured", p.stdout)
        self.assertEqual(self.kget("configmap", "settings", "-n", "kt")["data"], {"MODE": "two"})
        d2 = self.kget("deployment", "api", "-n", "kt")
        self.assertEqual(d2["spec"]["template"]["spec"]["containers"][0]["env"], [{"name": "LEVEL", "value": "debug"}])
        self.assertEqual(d2["metadata"]["generation"], 2)
        self.assertGreater(int(d2["metadata"]["resourceVersion"]), int(d1["metadata"]["resourceVersion"]))

    def _secret(self, name):
        self.kubectl("delete", "secret", name, "-n", "kt", "--ignore-not-found")
        self.kubectl("create", "secret", "generic", name, "-n", "kt", "--from-literal=user=alice")

    def test_patch_strategic_merge_and_json(self):
        self.kubectl("apply", "-f", "-", input=APP_V1)
        # strategic: the env list merges by name instead of being replaced
        self.kubectl("patch", "deployment", "api", "-n", "kt", "--type", "strategic", "-p",
                     '{"spec":{"template":{"spec":{"containers":[{"name":"api","env":[{"name":"EXTRA","value":"1"}]}]}}}}')
        env = self.kget("deployment", "api", "-n", "kt")["spec"]["template"]["spec"]["containers"][0]["env"]
        self.assertEqual(sorted(e["name"] for e in env), ["EXTRA", "LEVEL"])
        # merge: RFC 7386, null deletes
        self._secret("patched")
        self.kubectl("patch", "secret", "patched", "-n", "kt", "--type", "merge", "-p",
                     '{"metadata":{"labels":{"tier":"db"}},"data":{"user":null,"pass":"czNjcjN0"}}')
        s = self.kget("secret", "patched", "-n", "kt")
        self.assertEqual(s["data"], {"pass": "czNjcjN0"})
        self.assertEqual(s["metadata"]["labels"], {"tier": "db"})
        # json: RFC 6902
        self.kubectl("patch", "secret", "patched", "-n", "kt", "--type", "json", "-p",
                     '[{"op":"test","path":"/data/pass","value":"czNjcjN0"},'
                     '{"op":"copy","from":"/data/pass","path":"/data/copy"},{"op":"remove","path":"/metadata/labels/tier"}]')
        s = self.kget("secret", "patched", "-n", "kt")
        self.assertEqual(s["data"], {"pass": "czNjcjN0", "copy": "czNjcjN0"})
        p = self.kubectl("patch", "secret", "patched", "-n", "kt", "--type", "json", "-p",
                         '[{"op":"test","path":"/data/pass","value":"other"},{"op":"remove","path":"/data/pass"}]',
                         check=False)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("test failed", p.stderr)
        self.assertIn("pass", self.kget("secret", "patched", "-n", "kt")["data"])
        # strategic merge on a custom resource: 415 as on a real server; merge works
        self.kubectl("apply", "-f", "-", input="""
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {name: es1, namespace: kt}
spec:
  refreshInterval: 1h
  secretStoreRef: {kind: ClusterSecretStore, name: gcp-secret-store}
  target: {name: es1-target}
  data:
  - secretKey: k
    remoteRef: {key: does-not-matter}
""")
        p = self.kubectl("patch", "externalsecret", "es1", "-n", "kt", "--type", "strategic", "-p",
                         '{"spec":{"refreshInterval":"5m"}}', check=False)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("application/strategic-merge-patch+json is not supported by external-secrets.io/v1, "
                      "Kind=ExternalSecret: the body of the request was in an unknown format", p.stderr)
        self.kubectl("patch", "externalsecret", "es1", "-n", "kt", "--type", "merge", "-p",
                     '{"spec":{"refreshInterval":"5m"}}')
        self.assertEqual(self.kget("externalsecret.v1beta1.external-secrets.io", "es1", "-n", "kt")["spec"]
                         ["refreshInterval"], "5m")

    def test_create_job_from_cronjob(self):
        self.kubectl("apply", "-f", "-", input=CRONJOB)
        self.kubectl("create", "job", "nightly-manual", "--from=cronjob/nightly", "-n", "kt")
        job = self.kget("job", "nightly-manual", "-n", "kt")
        cj = self.kget("cronjob", "nightly", "-n", "kt")
        self.assertEqual(job["metadata"]["ownerReferences"][0]["uid"], cj["metadata"]["uid"])
        self.assertEqual(job["metadata"]["annotations"]["cronjob.kubernetes.io/instantiate"], "manual")
        self.assertEqual(job["metadata"]["labels"]["job-name"], "nightly-manual")
        self.assertEqual(job["spec"]["backoffLimit"], 1)
        pod = job["spec"]["template"]["spec"]
        c = pod["containers"][0]
        self.assertEqual(c["image"], "example.invalid/nightly:2.1")
        self.assertEqual(c["env"][0]["valueFrom"]["secretKeyRef"], {"name": "db", "key": "url", "optional": True})
        self.assertEqual(c["envFrom"], [{"configMapRef": {"name": "settings"}}])
        self.assertEqual(c["resources"], {"limits": {"memory": "256Mi"}})
        self.assertEqual(pod["volumes"], [{"name": "scratch", "emptyDir": {}}])
        self.assertEqual(pod["restartPolicy"], "Never")
        # deleting the CronJob collects the Job it owns
        self.kubectl("delete", "cronjob", "nightly", "-n", "kt")
        p = self.kubectl("get", "job", "nightly-manual", "-n", "kt", check=False)
        self.assertIn("NotFound", p.stderr)

    def test_job_from_fixture_cronjob_runs_and_logs(self):
        self.kubectl("create", "job", "calib-1", "--from=cronjob/calibrate-irt-weekly", "-n", "seedtest")
        # kubectl wait lists, then watches from the list's resourceVersion
        p = self.kubectl("wait", "--for=condition=complete", "job/calib-1", "-n", "seedtest", "--timeout=60s")
        self.assertIn("condition met", p.stdout)
        full = self.kubectl("logs", "job/calib-1", "-n", "seedtest").stdout
        self.assertEqual(self.kubectl("logs", "-f", "job/calib-1", "-n", "seedtest").stdout, full)
        tail = self.kubectl("logs", "job/calib-1", "-n", "seedtest", "--tail=1").stdout
        self.assertGreater(len(full.splitlines()), 1)
        self.assertEqual(tail.splitlines(), full.splitlines()[-1:])
        pods = self.kget("pods", "-n", "seedtest", "-l", "job-name=calib-1")["items"]
        self.assertEqual(len(pods), 1)
        self.kubectl("delete", "job", "calib-1", "-n", "seedtest")
        self.assertEqual(self.kget("pods", "-n", "seedtest", "-l", "job-name=calib-1")["items"], [])

    def test_imperative_create_sends_protobuf_and_is_understood(self):
        self.kubectl("create", "configmap", "imp", "-n", "kt", "--from-literal=a=1", "--from-literal=b=two")
        self.assertEqual(self.kget("configmap", "imp", "-n", "kt")["data"], {"a": "1", "b": "two"})
        self.kubectl("create", "secret", "generic", "imp", "-n", "kt", "--from-literal=token=abc")
        self.assertEqual(self.kget("secret", "imp", "-n", "kt")["data"], {"token": "YWJj"})
        self.kubectl("create", "deployment", "imp", "-n", "kt", "--image=example.invalid/x:1", "--replicas=2")
        d = self.kget("deployment", "imp", "-n", "kt")
        self.assertEqual(d["spec"]["replicas"], 2)
        self.assertEqual(d["spec"]["selector"], {"matchLabels": {"app": "imp"}})
        self.assertEqual(d["spec"]["strategy"]["type"], "RollingUpdate")
        self.kubectl("run", "imp", "-n", "kt", "--image=example.invalid/p:1", "--env=A=1", "--labels=x=y")
        pod = self.kget("pod", "imp", "-n", "kt")
        self.assertEqual(pod["spec"]["containers"][0]["env"], [{"name": "A", "value": "1"}])
        self.assertEqual(pod["metadata"]["labels"], {"x": "y"})
        self.kubectl("create", "service", "clusterip", "imp", "-n", "kt", "--tcp=80:8080")
        svc = self.kget("service", "imp", "-n", "kt")
        self.assertEqual(svc["spec"]["ports"], [{"name": "80-8080", "port": 80, "protocol": "TCP", "targetPort": 8080}])
        self.assertEqual(svc["spec"]["type"], "ClusterIP")
        self.assertEqual(self.kubectl("get", "events", "-n", "kt", "-o", "name").returncode, 0)

    def test_delete(self):
        self._secret("gone")
        p = self.kubectl("delete", "secret", "gone", "-n", "kt")
        self.assertIn('secret "gone" deleted', p.stdout)
        p = self.kubectl("delete", "secret", "gone", "-n", "kt", check=False)
        self.assertIn('Error from server (NotFound): secrets "gone" not found', p.stderr)

    def test_dry_run_server_changes_nothing(self):
        self._secret("dry")
        before = self.kget("secret", "dry", "-n", "kt")
        p = self.kubectl("label", "secret", "dry", "-n", "kt", "x=y", "--dry-run=server", "-o", "json")
        self.assertEqual(json.loads(p.stdout)["metadata"]["labels"], {"x": "y"})
        self.kubectl("patch", "secret", "dry", "-n", "kt", "--type", "merge", "-p", '{"data":{"user":null}}',
                     "--dry-run=server")
        self.kubectl("delete", "secret", "dry", "-n", "kt", "--dry-run=server")
        self.kubectl("create", "configmap", "dry-new", "-n", "kt", "--from-literal=a=b", "--dry-run=server")
        self.kubectl("apply", "--dry-run=server", "-f", "-", input=APP_V1.replace("name: settings", "name: dry-cm"))
        self.assertEqual(self.kget("secret", "dry", "-n", "kt"), before)
        for kind, name in (("configmap", "dry-new"), ("configmap", "dry-cm")):
            self.assertIn("NotFound", self.kubectl("get", kind, name, "-n", "kt", check=False).stderr)

    def test_viewer_reads_but_cannot_write(self):
        out = self.kubectl("get", "secrets", "-n", "seedtest", context="sandbox-viewer").stdout
        self.assertIn("seedtest-db-credentials", out)
        p = self.kubectl("patch", "secret", "seedtest-db-credentials", "-n", "seedtest", "--type", "merge",
                         "-p", '{"metadata":{"labels":{"x":"y"}}}', context="sandbox-viewer", check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn('Error from server (Forbidden): secrets "seedtest-db-credentials" is forbidden: User "viewer" '
                      'cannot patch resource "secrets" in API group "" in the namespace "seedtest"', p.stderr)
        p = self.kubectl("delete", "cronjob", "calibrate-irt-weekly", "-n", "seedtest", context="sandbox-viewer",
                         check=False)
        self.assertIn('cronjobs.batch "calibrate-irt-weekly" is forbidden: User "viewer" cannot delete resource '
                      '"cronjobs" in API group "batch" in the namespace "seedtest"', p.stderr)
        self.kget("cronjob", "calibrate-irt-weekly", "-n", "seedtest")

    def test_crds_of_the_served_custom_resources(self):
        names = self.kubectl("get", "crd", "-o", "name").stdout.split()
        for n in ("externalsecrets.external-secrets.io", "secretstores.external-secrets.io",
                  "clustersecretstores.external-secrets.io", "sealedsecrets.bitnami.com", "applications.argoproj.io"):
            self.assertIn(f"customresourcedefinition.apiextensions.k8s.io/{n}", names)
        crd = "crd/secretstores.external-secrets.io"
        self.assertEqual(self.kubectl("get", crd, "-o", "jsonpath={.spec.versions[*].name}").stdout, "v1 v1beta1")
        self.kubectl("patch", crd, "--type=json", "-p", '[{"op":"replace","path":"/spec/conversion",'
                                                         '"value":{"strategy":"None"}}]')
        self.assertEqual(self.kubectl("get", crd, "-o", "jsonpath={.spec.conversion}").stdout, '{"strategy":"None"}')
        path = "/apis/external-secrets.io/v1beta1/namespaces/kt/secretstores"
        self.kubectl("get", "--raw", path)
        self.kubectl("patch", crd, "--type=json", "-p", '[{"op":"replace","path":"/spec/versions/1/served","value":false}]')
        try:
            p = self.kubectl("get", "--raw", path, check=False)
            self.assertNotEqual(p.returncode, 0)
            self.assertIn("NotFound", p.stderr)
            v1beta1 = json.loads(self.kubectl("get", "--raw", "/apis/external-secrets.io/v1beta1").stdout)
            self.assertNotIn("secretstores", [r["name"] for r in v1beta1["resources"]])
            self.kubectl("get", "--raw", path.replace("v1beta1", "v1"))
        finally:
            self.kubectl("patch", crd, "--type=json", "-p",
                         '[{"op":"replace","path":"/spec/versions/1/served","value":true}]')
        self.kubectl("get", "--raw", path)

    def test_auth_can_i(self):
        self.assertEqual(self.kubectl("auth", "can-i", "patch", "secrets", "-n", "seedtest").stdout.strip(), "yes")
        p = self.kubectl("auth", "can-i", "patch", "secrets", "-n", "seedtest", context="sandbox-viewer", check=False)
        self.assertEqual((p.returncode, p.stdout.strip()), (1, "no"))
        self.assertEqual(self.kubectl("auth", "can-i", "get", "secrets", "-n", "seedtest",
                                      context="sandbox-viewer").stdout.strip(), "yes")

    def test_apply_rejects_unknown_fields(self):
        typo = APP_V1.split("---")[1].replace("name: api", "name: typo").replace("env:", "evn:")
        p = self.kubectl("apply", "-f", "-", input=typo, check=False)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn('Deployment in version "v1" cannot be handled as a Deployment: strict decoding error: '
                      'unknown field "spec.template.spec.containers[0].evn"', p.stderr)
        self.assertIn("NotFound", self.kubectl("get", "deployment", "typo", "-n", "kt", check=False).stderr)
        p = self.kubectl("apply", "--validate=warn", "-f", "-", input=typo)
        self.assertIn('Warning: unknown field "spec.template.spec.containers[0].evn"', p.stderr)
        self.kubectl("delete", "deployment", "typo", "-n", "kt")

    def test_apply_and_create_take_a_list_document(self):
        """A `v1` `List` (as `kubectl get -o json` and `runbook rbac --output json` print): kubectl
        reads /openapi/v2 to validate it, then writes each item; the server still refuses an unknown
        field of an item."""
        doc = {"apiVersion": "v1", "kind": "List", "metadata": {}, "items": [
            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "listed-a", "namespace": "kt"}, "data": {"a": "1"}},
            {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "listed-sa", "namespace": "kt"}}]}
        self.kubectl("apply", "-f", "-", input=json.dumps(doc))
        self.assertEqual(self.kget("configmap", "listed-a", "-n", "kt")["data"], {"a": "1"})
        self.kget("serviceaccount", "listed-sa", "-n", "kt")
        doc["items"] = [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "listed-b", "namespace": "kt"},
                         "dataa": {}}]
        p = self.kubectl("create", "-f", "-", input=json.dumps(doc), check=False)
        self.assertIn('ConfigMap in version "v1" cannot be handled as a ConfigMap: strict decoding error: unknown field '
                      '"dataa"', p.stderr)
        self.assertIn("NotFound", self.kubectl("get", "configmap", "listed-b", "-n", "kt", check=False).stderr)

    def _check_probed(self, name):
        sts = self.kget("statefulset", name, "-n", "kt")
        pod = sts["spec"]["template"]["spec"]
        db = pod["containers"][0]
        self.assertEqual(db["readinessProbe"]["exec"], {"command": ["sh", "-c", "true"]})
        self.assertEqual(db["readinessProbe"]["periodSeconds"], 5)
        self.assertEqual(db["livenessProbe"]["exec"], {"command": ["sh", "-c", "exit 0"]})
        self.assertEqual(db["startupProbe"]["httpGet"]["path"], "/healthz")
        self.assertEqual(db["lifecycle"]["preStop"]["exec"], {"command": ["sh", "-c", "sleep 1"]})
        self.assertEqual(db["lifecycle"]["postStart"]["httpGet"]["path"], "/started")
        self.assertEqual(db["envFrom"][0]["secretRef"], {"name": "creds", "optional": True})
        self.assertEqual(pod["containers"][1]["readinessProbe"]["tcpSocket"], {"port": 9000})
        vols = {v["name"]: v for v in pod["volumes"]}
        self.assertEqual(vols["data"]["persistentVolumeClaim"], {"claimName": "probed-data"})
        self.assertIn("emptyDir", vols["scratch"])
        self.assertEqual(vols["conf"]["configMap"]["name"], "settings")
        self.assertEqual(vols["certs"]["secret"]["secretName"], "certs")

    def test_apply_accepts_fields_of_inline_structs(self):
        """Probe handlers (exec, httpGet, tcpSocket), volume sources and LocalObjectReference's `name`
        are fields of Go structs embedded inline: both apply paths must accept them."""
        p = self.kubectl("apply", "--server-side", "-f", "-", input=PROBED)
        self.assertIn("statefulset.apps/probed serverside-applied", p.stdout)
        self._check_probed("probed")
        p = self.kubectl("apply", "--server-side", "-f", "-", input=PROBED.replace("periodSeconds: 5", "periodSeconds: 7"))
        self.assertIn("statefulset.apps/probed serverside-applied", p.stdout)
        self.assertEqual(self.kget("statefulset", "probed", "-n", "kt")["spec"]["template"]["spec"]["containers"][0]
                         ["readinessProbe"]["periodSeconds"], 7)
        client_side = PROBED.replace("name: probed\n  namespace", "name: probed-csa\n  namespace")
        p = self.kubectl("apply", "-f", "-", input=client_side)                 # fieldValidation=Strict
        self.assertIn("statefulset.apps/probed-csa created", p.stdout)
        self._check_probed("probed-csa")
        p = self.kubectl("apply", "-f", "-", input=client_side.replace('"sleep 1"', '"sleep 2"'))
        self.assertIn("statefulset.apps/probed-csa configured", p.stdout)
        self.kubectl("delete", "statefulset", "probed", "probed-csa", "-n", "kt")

    def test_apply_rejects_typos_inside_inline_structs(self):
        typos = PROBED.replace("name: probed\n  namespace", "name: typo-sts\n  namespace") \
            .replace("command: [sh, -c, \"true\"]", "comand: [sh, -c, \"true\"]") \
            .replace("persistentVolumeClaim:", "persistentVolumeClam:")
        p = self.kubectl("apply", "--server-side", "-f", "-", input=typos, check=False)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("failed to create typed patch object (kt/typo-sts; apps/v1, Kind=StatefulSet): "
                      ".spec.template.spec.containers[0].readinessProbe.exec.comand: field not declared in schema, "
                      ".spec.template.spec.volumes[0].persistentVolumeClam: field not declared in schema", p.stderr)
        p = self.kubectl("apply", "-f", "-", input=typos, check=False)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn('unknown field "spec.template.spec.containers[0].readinessProbe.exec.comand"', p.stderr)
        self.assertIn('unknown field "spec.template.spec.volumes[0].persistentVolumeClam"', p.stderr)
        wrong_level = PROBED.replace("name: probed\n  namespace", "name: typo-sts\n  namespace") \
            .replace("          periodSeconds: 5", "          exce: {}")
        p = self.kubectl("apply", "--server-side", "-f", "-", input=wrong_level, check=False)
        self.assertIn(".spec.template.spec.containers[0].readinessProbe.exce: field not declared in schema", p.stderr)
        self.assertIn("NotFound", self.kubectl("get", "statefulset", "typo-sts", "-n", "kt", check=False).stderr)

    def test_scale(self):
        self.kubectl("apply", "-f", "-", input=APP_V1)
        self.kubectl("scale", "deployment", "api", "-n", "kt", "--replicas=0")
        self.assertEqual(self.kget("deployment", "api", "-n", "kt")["spec"]["replicas"], 0)
        self.kubectl("scale", "deployment", "api", "-n", "kt", "--replicas=1")
        self.assertEqual(self.kget("deployment", "api", "-n", "kt")["spec"]["replicas"], 1)

    def test_rollout_status_history_undo_restart(self):
        ns = ["-n", "kt"]
        self.kubectl("create", "deployment", "roll", *ns, "--image=example.invalid/roll:1", "--replicas=2")
        self.kubectl("rollout", "status", "deployment/roll", *ns, "--timeout=30s")
        self.kubectl("set", "image", "deployment/roll", *ns, "roll=example.invalid/roll:2")
        self.kubectl("rollout", "status", "deployment/roll", *ns, "--timeout=30s")
        history = self.kubectl("rollout", "history", "deployment/roll", *ns).stdout
        self.assertEqual([ln.split()[0] for ln in history.splitlines()[2:] if ln.strip()], ["1", "2"])
        self.kubectl("rollout", "undo", "deployment/roll", *ns)
        self.kubectl("rollout", "status", "deployment/roll", *ns, "--timeout=30s")
        dep = self.kget("deployment", "roll", "-n", "kt")
        self.assertEqual(dep["spec"]["template"]["spec"]["containers"][0]["image"], "example.invalid/roll:1")
        self.assertEqual(dep["metadata"]["annotations"]["deployment.kubernetes.io/revision"], "3")
        self.kubectl("rollout", "restart", "deployment/roll", *ns)
        self.kubectl("rollout", "status", "deployment/roll", *ns, "--timeout=30s")
        shown = self.kubectl("rollout", "history", "deployment/roll", *ns, "--revision=4").stdout
        self.assertIn("kubectl.kubernetes.io/restartedAt", shown)
        self.assertIn("example.invalid/roll:1", shown)


if __name__ == "__main__":
    unittest.main()
