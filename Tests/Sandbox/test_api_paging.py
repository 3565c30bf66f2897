"""Pure parts added for fan-out: LIST paging, generated fixtures and fixture vars, request counts,
the controller work queue (events before resyncs, one key never on two workers) (no server)."""

import json
import os
import threading
import time
import unittest

from sandboxlib import generated, paging, requestcount
from sandboxlib.controllers.base import Controller
from sandboxlib.routes.request import HTTPError

HERE = os.path.dirname(os.path.abspath(__file__))


def obj(ns, name):
    return {"metadata": {"namespace": ns, "name": name}}


class PagingTest(unittest.TestCase):
    def test_pages_cover_everything_once_in_order(self):
        items = [obj(f"ns-{i % 3}", f"o-{i:02d}") for i in range(10)]
        seen, query, pages = [], {"limit": "4"}, 0
        while True:
            page, more = paging.page(query, items)
            pages += 1
            seen += [(o["metadata"]["namespace"], o["metadata"]["name"]) for o in page]
            if not more:
                break
            self.assertEqual(more["remainingItemCount"], 10 - len(seen))
            query = {"limit": "4", "continue": more["continue"]}
        self.assertEqual(pages, 3)
        self.assertEqual(seen, sorted((o["metadata"]["namespace"], o["metadata"]["name"]) for o in items))

    def test_no_limit_is_one_page_and_a_bad_token_is_refused(self):
        items = [obj("a", "x"), obj("a", "y")]
        self.assertEqual(paging.page({}, items), (items, {}))
        self.assertEqual(paging.page({"limit": "5"}, items)[1], {})
        with self.assertRaises(HTTPError) as e:
            paging.page({"limit": "1", "continue": "not-a-token"}, items)
        self.assertEqual(e.exception.code, 400)
        with self.assertRaises(HTTPError):
            paging.page({"limit": "many"}, items)


class GeneratedFixtureTest(unittest.TestCase):
    def test_many_cronjobs_makes_n_over_m_with_their_secrets(self):
        d = os.path.join(HERE, "..", "..", "fixtures", "clusters", "many-cronjobs")
        objs = [o for _, o in generated.generated_objects([d], {"cronjobs": "7", "namespaces": "3"},
                                                            lambda t: t.replace("${GCP_TOKEN}", "tok"))]
        cronjobs = [o for o in objs if o["kind"] == "CronJob"]
        labelled = [c for c in cronjobs if c["metadata"]["labels"].get("migrate.runbook.dev/to") == "external-secrets"]
        self.assertEqual(len(labelled), 7)
        self.assertEqual(len(cronjobs), 8)  # and the unlabelled legacy-export
        self.assertEqual({c["metadata"]["namespace"] for c in labelled}, {"reports-00", "reports-01", "reports-02"})
        secrets = {(o["metadata"]["namespace"], o["metadata"]["name"]) for o in objs if o["kind"] == "Secret"}
        for c in cronjobs:
            pod = c["spec"]["jobTemplate"]["spec"]["template"]["spec"]
            refs = [e["valueFrom"]["secretKeyRef"] for ct in pod.get("initContainers", []) + pod["containers"]
                    for e in ct["env"] if "secretKeyRef" in e.get("valueFrom", {})]
            self.assertIn(len(refs), (1, 5))
            for ref in refs:  # every reference has its Secret, but the optional one
                self.assertEqual((c["metadata"]["namespace"], ref["name"]) in secrets, not ref.get("optional"), ref)
        # Even CronJobs have five references, one to the namespace's shared Secret.
        shared = [c["metadata"]["name"] for c in labelled if "reports-shared" in json.dumps(c)]
        self.assertEqual(shared, ["report-0000", "report-0002", "report-0004", "report-0006"])
        self.assertEqual(len([o for o in objs if o["metadata"]["name"] == "reports-shared"]), 3)
        creds = next(o for o in objs if o["metadata"]["name"] == "eso-gcp-credentials")
        self.assertIn('"sandbox_access_token": "tok"', creds["stringData"]["credentials.json"])

    def test_many_cronjobs_simple_shape_has_one_reference_each(self):
        d = os.path.join(HERE, "..", "..", "fixtures", "clusters", "many-cronjobs")
        objs = [o for _, o in generated.generated_objects([d], {"cronjobs": "4", "namespaces": "2", "shape": "simple"},
                                                            lambda t: t)]
        for c in (o for o in objs if o["kind"] == "CronJob"):
            pod = c["spec"]["jobTemplate"]["spec"]["template"]["spec"]
            self.assertNotIn("initContainers", pod)
            self.assertEqual([e["name"] for ct in pod["containers"] for e in ct["env"]], ["DATABASE_URL"])
        with self.assertRaises(ValueError):
            list(generated.generated_objects([d], {"shape": "round"}, lambda t: t))

    def test_fixture_vars(self):
        self.assertEqual(generated.parse_vars(["cronjobs=1000", "", "namespaces=50"]), {"cronjobs": "1000", "namespaces": "50"})
        with self.assertRaises(ValueError):
            generated.parse_vars(["cronjobs"])


class RequestCountTest(unittest.TestCase):
    def test_counts_by_client(self):
        before = requestcount.snapshot().get("test", {})
        requestcount.add("test", "runbook")
        requestcount.add("test", "kubectl/v1.31.0 (linux/amd64) kubernetes/abc")
        requestcount.add("test", None)
        after = requestcount.snapshot()["test"]
        self.assertEqual(after.get("runbook", 0) - before.get("runbook", 0), 1)
        self.assertEqual(after.get("kubectl", 0) - before.get("kubectl", 0), 1)
        self.assertEqual(after.get("-", 0) - before.get("-", 0), 1)


class _Slow(Controller):
    name = "slow"
    workers = 4

    def __init__(self):
        super().__init__(None, None)
        self.lock = threading.Lock()
        self.running: set = set()
        self.overlap = False
        self.order: list = []

    def reconcile(self, key, forced):
        with self.lock:
            if key in self.running:
                self.overlap = True
            self.running.add(key)
            self.order.append(key)
        time.sleep(0.05)
        with self.lock:
            self.running.discard(key)


class WorkQueueTest(unittest.TestCase):
    def test_events_before_resyncs_and_no_key_on_two_workers(self):
        c = _Slow()
        with c._cv:
            for k in range(20):
                c._resync[f"old-{k}"] = True
        c.enqueue("new")
        for _ in range(3):
            c.enqueue("same")
        c._next_resync = None
        threads = [threading.Thread(target=c._worker, daemon=True) for _ in range(c.workers)]
        for t in threads:
            t.start()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and len(c.order) < 22:
            time.sleep(0.02)
        c.stop()
        c._stop.set()
        with c._cv:
            c._cv.notify_all()
        self.assertEqual(set(c.order[:2]), {"new", "same"}, c.order)
        self.assertFalse(c.overlap)
        self.assertEqual(len([k for k in c.order if k.startswith("old-")]), 20)


if __name__ == "__main__":
    unittest.main()
