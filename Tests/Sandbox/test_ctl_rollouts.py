"""Rollouts with the r-analytics fixture: ReplicaSets and revisions under real `kubectl rollout
status|history|undo|restart`, HTTP Pods with readiness probes, the service proxy, image pull
failures, progress deadlines, the ServiceMonitor CRD and the namespaced SecretStore."""
import base64
import json
import subprocess
import unittest

from sandboxlib.harness import SandboxTestCase as SandboxCase

TOKEN = "sandbox-test-token-0123456789"

R_ANALYTICS = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: r-analytics
  namespace: seedtest
  labels: {app: r-analytics}
spec:
  replicas: 2
  progressDeadlineSeconds: 4
  revisionHistoryLimit: 2
  selector:
    matchLabels: {app: r-analytics}
  template:
    metadata:
      labels: {app: r-analytics}
    spec:
      containers:
        - name: r-analytics
          image: gcr.io/univprepai/r-analytics:1.0.0
          ports:
            - {name: http, containerPort: 8010}
          env:
            - name: R_ANALYTICS_INTERNAL_TOKEN
              valueFrom: {secretKeyRef: {name: r-analytics-credentials, key: token}}
          readinessProbe:
            httpGet: {path: /health, port: http}
---
apiVersion: v1
kind: Service
metadata:
  name: r-analytics
  namespace: seedtest
spec:
  selector: {app: r-analytics}
  ports:
    - {name: http, port: 80, targetPort: 8010}
---
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata:
  name: r-analytics-credentials
  namespace: seedtest
spec:
  refreshInterval: 1h
  secretStoreRef: {name: gcpsm-secret-store, kind: SecretStore}
  target: {name: r-analytics-credentials, creationPolicy: Owner}
  data:
    - secretKey: token
      remoteRef: {key: r-analytics-internal-token}
"""


class RolloutTests(SandboxCase):
    fixtures = ["r-analytics"]

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        data = base64.b64encode(TOKEN.encode()).decode()
        base = cls.env["CLOUDSDK_API_ENDPOINT_OVERRIDES_SECRETMANAGER"].rstrip("/")
        auth = ["-H", f"Authorization: Bearer {cls.env['CLOUDSDK_AUTH_ACCESS_TOKEN']}", "-H",
                "Content-Type: application/json"]
        for path, body in ((f"/v1/projects/univprepai/secrets?secretId=r-analytics-internal-token",
                            {"replication": {"automatic": {}}}),
                           ("/v1/projects/univprepai/secrets/r-analytics-internal-token:addVersion",
                            {"payload": {"data": data}})):
            subprocess.run(["curl", "-sf", "-X", "POST", base + path, *auth, "-d", json.dumps(body)], check=True,
                           capture_output=True, timeout=30)
        subprocess.run(["kubectl", "apply", "-f", "-"], input=R_ANALYTICS, env=cls.env, text=True, check=True,
                       capture_output=True, timeout=60)

    def rollout_status(self, name="r-analytics", timeout="30s", check=True):
        return self.kubectl("-n", "seedtest", "rollout", "status", f"deployment/{name}", f"--timeout={timeout}",
                            check=check)

    def replicasets(self, app="r-analytics") -> list[dict]:
        return self.kjson("-n", "seedtest", "get", "replicasets", "-l", f"app={app}")["items"]

    def proxy(self, path: str, token: str | None = None) -> tuple[int, str]:
        """GET through the API server's service proxy with the admin client certificate (curl)."""
        pki = f"{self.dir}/pki"
        args = ["curl", "-s", "-o", "-", "-w", "\n%{http_code}", "--cacert", f"{pki}/ca.crt", "--cert",
                f"{pki}/admin.crt", "--key", f"{pki}/admin.key",
                f"{self.info['server']}/api/v1/namespaces/seedtest/services/r-analytics:http/proxy{path}"]
        if token is not None:
            args += ["-H", f"X-Internal-Token: {token}"]
        r = subprocess.run(args, capture_output=True, text=True, timeout=30)
        body, _, code = r.stdout.rpartition("\n")
        return int(code), body

    def test_1_deployment_owns_replicasets_and_serves_through_the_proxy(self):
        self.rollout_status()
        dep = self.kjson("-n", "seedtest", "get", "deployment", "r-analytics")
        self.assertEqual(dep["metadata"]["annotations"]["deployment.kubernetes.io/revision"], "1")
        conds = {c["type"]: c for c in dep["status"]["conditions"]}
        self.assertEqual((conds["Progressing"]["status"], conds["Progressing"]["reason"]), ("True", "NewReplicaSetAvailable"))
        self.assertEqual(conds["Available"]["reason"], "MinimumReplicasAvailable")
        (rs,) = self.replicasets()
        h = rs["metadata"]["labels"]["pod-template-hash"]
        self.assertEqual(rs["metadata"]["name"], f"r-analytics-{h}")
        self.assertEqual(rs["metadata"]["ownerReferences"][0]["kind"], "Deployment")
        self.assertEqual(rs["status"]["readyReplicas"], 2)
        pods = self.kjson("-n", "seedtest", "get", "pods", "-l", "app=r-analytics")["items"]
        self.assertEqual(len(pods), 2)
        self.assertTrue(all(p["metadata"]["ownerReferences"][0]["name"] == rs["metadata"]["name"] for p in pods))
        self.assertEqual(self.proxy("/health"), (200, '{"status": "ok"}\n'))
        code, body = self.proxy("/health", TOKEN)
        self.assertEqual((code, json.loads(body)["token"]), (200, "valid"))
        self.assertEqual(self.proxy("/health", "wrong")[0], 401)
        raw = self.kubectl("get", "--raw", "/api/v1/namespaces/seedtest/services/r-analytics:80/proxy/health").stdout
        self.assertEqual(json.loads(raw), {"status": "ok"})
        missing = self.kubectl("get", "--raw", "/api/v1/namespaces/seedtest/services/nope:80/proxy/", check=False)
        self.assertIn('services "nope" not found', missing.stderr)
        # the fixture's Deployment and the ServiceMonitor CRD
        self.assertEqual(self.replicasets("seedtest-api")[0]["status"]["readyReplicas"], 1)
        self.kubectl("apply", "-f", "-", input="""apiVersion: monitoring.coreos.com/v1
kind: ServiceMonitor
metadata: {name: r-analytics, namespace: seedtest}
spec:
  selector: {matchLabels: {app: r-analytics}}
  endpoints: [{port: http, path: /health, interval: 30s}]
""")
        self.assertEqual(self.kubectl("-n", "seedtest", "get", "servicemonitor", "r-analytics", "-o",
                                      "jsonpath={.spec.endpoints[0].port}").stdout, "http")

    def test_2_bad_image_times_out_old_replicaset_keeps_serving_then_undo(self):
        self.rollout_status()
        before = self.kjson("-n", "seedtest", "get", "deployment", "r-analytics")["spec"]["template"]
        self.kubectl("-n", "seedtest", "set", "image", "deployment/r-analytics", "r-analytics=gcr.io/univprepai/r-analytics:9.9.9")

        def pulling():
            pods = self.kjson("-n", "seedtest", "get", "pods", "-l", "app=r-analytics")["items"]
            reasons = [((p["status"].get("containerStatuses") or [{}])[0].get("state") or {}).get("waiting", {}).get("reason")
                       for p in pods]
            return "ImagePullBackOff" in reasons and reasons
        reasons = self.wait_for(pulling, what="ImagePullBackOff")
        self.assertEqual(len(reasons), 3, "maxSurge 1 / maxUnavailable 0: one new Pod beside the two old ones")
        r = self.rollout_status(timeout="20s", check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn('deployment "r-analytics" exceeded its progress deadline', r.stderr)
        self.assertEqual(self.proxy("/health", TOKEN)[0], 200, "the old ReplicaSet still serves")
        history = self.kubectl("-n", "seedtest", "rollout", "history", "deployment/r-analytics").stdout
        self.assertIn("1 ", history)
        self.assertIn("2 ", history)
        self.kubectl("-n", "seedtest", "rollout", "undo", "deployment/r-analytics")
        self.rollout_status()
        dep = self.kjson("-n", "seedtest", "get", "deployment", "r-analytics")
        self.assertEqual(dep["spec"]["template"], before)
        self.assertEqual(dep["metadata"]["annotations"]["deployment.kubernetes.io/revision"], "3")
        revs = sorted(rs["metadata"]["annotations"]["deployment.kubernetes.io/revision"] for rs in self.replicasets())
        self.assertEqual(revs, ["2", "3"], "undo reuses revision 1's ReplicaSet as revision 3")

    def test_3_restart_makes_a_new_revision_and_history_is_limited(self):
        self.rollout_status()
        self.kubectl("-n", "seedtest", "set", "env", "deployment/r-analytics", "LOG_LEVEL=debug")
        self.rollout_status()
        self.kubectl("-n", "seedtest", "rollout", "restart", "deployment/r-analytics")
        self.rollout_status()
        rss = self.replicasets()
        self.assertLessEqual(len(rss), 3, "revisionHistoryLimit 2 keeps two old ReplicaSets")
        active = [rs for rs in rss if rs["spec"]["replicas"] > 0]
        self.assertEqual(len(active), 1)
        self.assertIn("kubectl.kubernetes.io/restartedAt", active[0]["spec"]["template"]["metadata"]["annotations"])
        out = self.kubectl("-n", "seedtest", "rollout", "history", "deployment/r-analytics",
                           "--revision", active[0]["metadata"]["annotations"]["deployment.kubernetes.io/revision"]).stdout
        self.assertIn("gcr.io/univprepai/r-analytics:1.0.0", out)
        self.assertEqual(self.proxy("/health", TOKEN)[0], 200)


if __name__ == "__main__":
    unittest.main()
