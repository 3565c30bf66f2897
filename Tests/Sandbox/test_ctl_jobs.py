"""Job controller with the calibrate-irt fixture: kubectl create job --from, env resolution,
CreateContainerConfigError, backoffLimit, rows written to the real PostgreSQL."""
import json
import unittest

from sandboxlib.harness import SandboxTestCase as SandboxCase

IMAGE = "asia-northeast3-docker.pkg.dev/univprepai/seedtest/calibrate-irt:latest"


def job(name, env_yaml, backoff=0):
    return f"""apiVersion: batch/v1
kind: Job
metadata:
  name: {name}
  namespace: seedtest
spec:
  backoffLimit: {backoff}
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: calibrate-irt
        image: {IMAGE}
{env_yaml}
"""


class JobTests(SandboxCase):
    fixtures = ["calibrate-irt"]

    def count(self, table):
        return int(self.psql(f"SELECT count(*) FROM {table}", db="seedtest").stdout.strip())

    def job_condition(self, name):
        st = self.kjson("-n", "seedtest", "get", "job", name).get("status") or {}
        for c in st.get("conditions") or []:
            if c["type"] in ("Complete", "Failed") and c["status"] == "True":
                return c
        return None

    def pods_of(self, name):
        return self.kjson("-n", "seedtest", "get", "pods", "-l", f"job-name={name}")["items"]

    def test_job_from_cronjob_succeeds_and_writes_rows(self):
        meta, params = self.count("mirt_fit_meta"), self.count("mirt_item_params")
        self.kubectl("-n", "seedtest", "create", "job", "--from=cronjob/calibrate-irt-weekly", "calibrate-irt-test-1")
        cond = self.wait_for(lambda: self.job_condition("calibrate-irt-test-1"), what="job finished")
        self.assertEqual(cond["type"], "Complete", json.dumps(cond))
        logs = self.kubectl("-n", "seedtest", "logs", "job/calibrate-irt-test-1", "-c", "calibrate-irt").stdout
        self.assertIn("Starting IRT calibration...", logs)
        self.assertIn("IRT calibration completed successfully", logs)
        self.assertEqual(self.count("mirt_fit_meta"), meta + 1)
        self.assertEqual(self.count("mirt_item_params"), params + 40)
        pod = self.pods_of("calibrate-irt-test-1")[0]
        self.assertEqual(pod["status"]["phase"], "Succeeded")
        self.assertEqual(pod["metadata"]["ownerReferences"][0]["kind"], "Job")
        st = self.kjson("-n", "seedtest", "get", "job", "calibrate-irt-test-1")["status"]
        self.assertEqual(st.get("succeeded"), 1)
        self.assertIn("completionTime", st)

    def test_missing_secret_is_create_container_config_error_until_it_appears(self):
        env = """        env:
        - name: DATABASE_URL
          valueFrom:
            secretKeyRef:
              name: calibrate-irt-credentials
              key: DATABASE_URL
        - name: R_IRT_INTERNAL_TOKEN
          valueFrom:
            secretKeyRef:
              name: calibrate-irt-credentials
              key: R_IRT_INTERNAL_TOKEN"""
        self.apply(job("eso-before-sync", env))

        def waiting():
            pods = self.pods_of("eso-before-sync")
            cs = (pods[0].get("status") or {}).get("containerStatuses") if pods else None
            return cs and cs[0]["state"].get("waiting")
        w = self.wait_for(waiting, what="waiting container state")
        self.assertEqual(w["reason"], "CreateContainerConfigError")
        self.assertEqual(w["message"], 'secret "calibrate-irt-credentials" not found')
        self.assertEqual(self.pods_of("eso-before-sync")[0]["status"]["phase"], "Pending")
        # the Secret appears without the token key → still an error, now about the key
        url = self.kjson("-n", "seedtest", "get", "secret", "seedtest-db-credentials")["data"]["DATABASE_URL"]
        self.apply(f"""apiVersion: v1
kind: Secret
metadata:
  name: calibrate-irt-credentials
  namespace: seedtest
data:
  DATABASE_URL: {url}
""")
        self.wait_for(lambda: (waiting() or {}).get("message") ==
                      "couldn't find key R_IRT_INTERNAL_TOKEN in Secret seedtest/calibrate-irt-credentials",
                      what="missing-key message")
        self.kubectl("-n", "seedtest", "patch", "secret", "calibrate-irt-credentials", "--type", "merge",
                     "-p", '{"stringData": {"R_IRT_INTERNAL_TOKEN": "tok"}}')
        cond = self.wait_for(lambda: self.job_condition("eso-before-sync"), what="job finished")
        self.assertEqual(cond["type"], "Complete")

    def test_database_url_not_set_fails_with_backoff_limit(self):
        env = """        env:
        - name: R_IRT_INTERNAL_TOKEN
          valueFrom:
            secretKeyRef:
              name: r-irt-credentials
              key: token"""
        self.apply(job("no-db-url", env, backoff=1))
        cond = self.wait_for(lambda: self.job_condition("no-db-url"), what="job finished")
        self.assertEqual((cond["type"], cond["reason"]), ("Failed", "BackoffLimitExceeded"))
        st = self.kjson("-n", "seedtest", "get", "job", "no-db-url")["status"]
        self.assertEqual(st.get("failed"), 2)
        pods = self.pods_of("no-db-url")
        self.assertEqual(len(pods), 2)
        for p in pods:
            self.assertEqual(p["status"]["phase"], "Failed")
            self.assertEqual(p["status"]["containerStatuses"][0]["state"]["terminated"]["exitCode"], 1)
            logs = self.kubectl("-n", "seedtest", "logs", p["metadata"]["name"]).stdout
            self.assertIn("Error: DATABASE_URL is not set", logs)

    def test_optional_secret_may_be_missing(self):
        env = """        env:
        - name: DATABASE_URL
          valueFrom:
            secretKeyRef:
              name: seedtest-db-credentials
              key: DATABASE_URL
        - name: R_IRT_INTERNAL_TOKEN
          valueFrom:
            secretKeyRef:
              name: no-such-secret
              key: token
              optional: true"""
        self.apply(job("optional-token", env))
        cond = self.wait_for(lambda: self.job_condition("optional-token"), what="job finished")
        self.assertEqual(cond["type"], "Complete")
        logs = self.kubectl("-n", "seedtest", "logs", "job/optional-token").stdout
        self.assertIn("R_IRT_INTERNAL_TOKEN is not set", logs)


if __name__ == "__main__":
    unittest.main()
