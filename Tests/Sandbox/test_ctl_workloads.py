"""Workloads with the observer-postgres fixture: real PostgreSQL per PVC, Service ports, the
Deployment → StatefulSet cutover keeping the data, and the volumeClaimTemplates data-loss case."""
import unittest

from sandboxlib.harness import SandboxTestCase as SandboxCase

PW = "observer-sandbox-pw"

STS = """apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: postgres
  namespace: observer-prod
  labels:
    app: postgres
spec:
  serviceName: postgres-headless
  replicas: 1
  selector:
    matchLabels:
      app: postgres
  template:
    metadata:
      labels:
        app: postgres
    spec:
      containers:
        - name: postgres
          image: postgres:15-alpine
          ports:
            - name: postgres
              containerPort: 5432
          envFrom:
            - secretRef:
                name: observer-secrets
          env:
            - name: PGDATA
              value: /var/lib/postgresql/data/pgdata
          volumeMounts:
            - name: postgres-data
              mountPath: /var/lib/postgresql/data
"""
REUSE = """      volumes:
        - name: postgres-data
          persistentVolumeClaim:
            claimName: observer-db-pvc
"""
TEMPLATES = """  volumeClaimTemplates:
    - metadata:
        name: postgres-data
      spec:
        accessModes: ["ReadWriteOnce"]
        storageClassName: local-path
        resources:
          requests:
            storage: 10Gi
"""


class WorkloadTests(SandboxCase):
    fixtures = ["observer-postgres"]

    def svc_psql(self, sql, check=True):
        port = self.info["services"]["observer-prod/postgres"]
        return self.psql(sql, db="observer", host="127.0.0.1", port=port, user="observer", password=PW, check=check)

    def rollout(self, kind):
        self.kubectl("-n", "observer-prod", "rollout", "status", f"{kind}/postgres", "--timeout=60s")

    def test_cutover(self):
        # 1. the Deployment serves the PVC's data through the Service port
        dep = self.kjson("-n", "observer-prod", "get", "deployment", "postgres")
        self.assertEqual(dep["status"].get("readyReplicas"), 1)
        self.assertEqual([c["type"] for c in dep["status"]["conditions"]], ["Available", "Progressing"])
        self.assertEqual(self.svc_psql("SELECT count(*) FROM scalp_ticks").stdout.strip(), "1000")
        self.assertEqual(self.svc_psql("SELECT count(*) FROM trade_signals").stdout.strip(), "50")
        self.svc_psql("INSERT INTO trade_signals (symbol, side, created_at) VALUES ('005930', 'buy', now())")
        pvc = self.kjson("-n", "observer-prod", "get", "pvc", "observer-db-pvc")
        self.assertEqual(pvc["status"]["phase"], "Bound")
        # wrong password is refused by the real server
        r = self.psql("SELECT 1", db="observer", host="127.0.0.1",
                      port=self.info["services"]["observer-prod/postgres"], user="observer", password="wrong",
                      check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("password authentication failed", r.stderr)

        # 2. scale to 0: the server stops, the Service refuses
        self.kubectl("-n", "observer-prod", "scale", "deployment", "postgres", "--replicas=0")
        self.wait_for(lambda: not self.kjson("-n", "observer-prod", "get", "pods", "-l", "app=postgres")["items"],
                      what="pods gone")
        self.wait_for(lambda: self.svc_psql("SELECT 1", check=False).returncode != 0, what="service refusing")

        # 3. StatefulSet on the same PVC keeps the rows (option A of seed 003)
        self.apply(STS + REUSE)
        self.rollout("statefulset")
        pods = self.kjson("-n", "observer-prod", "get", "pods", "-l", "app=postgres")["items"]
        self.assertEqual([p["metadata"]["name"] for p in pods], ["postgres-0"])
        self.assertEqual(self.svc_psql("SELECT count(*) FROM scalp_ticks").stdout.strip(), "1000")
        self.assertEqual(self.svc_psql("SELECT count(*) FROM trade_signals").stdout.strip(), "51")

        # 4. the Deployment scaled back up while the StatefulSet holds the PVC waits (RWO)
        self.kubectl("-n", "observer-prod", "scale", "deployment", "postgres", "--replicas=1")

        def dep_pod_waiting():
            items = self.kjson("-n", "observer-prod", "get", "pods", "-l", "pod-template-hash")["items"]
            cs = items and (items[0].get("status") or {}).get("containerStatuses")
            return cs and cs[0]["state"].get("waiting", {}).get("reason")
        self.assertEqual(self.wait_for(dep_pod_waiting, what="deployment pod waiting"), "ContainerCreating")
        self.kubectl("-n", "observer-prod", "scale", "deployment", "postgres", "--replicas=0")

        # 5. a StatefulSet with volumeClaimTemplates gets a new, empty PVC: the data-loss case
        self.kubectl("-n", "observer-prod", "delete", "statefulset", "postgres")
        self.wait_for(lambda: not self.kjson("-n", "observer-prod", "get", "pods", "-l", "app=postgres")["items"],
                      what="pods gone")
        self.apply(STS + TEMPLATES)
        self.rollout("statefulset")
        new_pvc = self.kjson("-n", "observer-prod", "get", "pvc", "postgres-data-postgres-0")
        self.assertEqual(new_pvc["status"]["phase"], "Bound")
        r = self.svc_psql("SELECT count(*) FROM scalp_ticks", check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn('relation "scalp_ticks" does not exist', r.stderr)

        # 6. rollback: back to the Deployment on the old PVC, data intact
        self.kubectl("-n", "observer-prod", "scale", "statefulset", "postgres", "--replicas=0")
        self.wait_for(lambda: not self.kjson("-n", "observer-prod", "get", "pods", "-l",
                                             "statefulset.kubernetes.io/pod-name")["items"], what="sts pods gone")
        self.kubectl("-n", "observer-prod", "scale", "deployment", "postgres", "--replicas=1")
        self.rollout("deployment")
        self.wait_for(lambda: self.svc_psql("SELECT count(*) FROM trade_signals", check=False).stdout.strip() == "51",
                      what="rows back after rollback")


if __name__ == "__main__":
    unittest.main()
