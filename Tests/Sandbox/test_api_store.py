"""Pure parts of the sandbox API: Store, label selectors, patches, faults (no server)."""

import threading
import unittest

from sandboxlib.faults import FaultError, FaultInjector
from sandboxlib.labels import LabelSelector, SelectorError
from sandboxlib.patches import PatchError, apply_merge, json_patch, merge_patch
from sandboxlib.store import Store, StoreError


def ns(name):
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}


def cm(name, namespace="a", **md):
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": namespace, **md},
            "data": {"k": "v"}}


class StoreTest(unittest.TestCase):
    def setUp(self):
        self.store = Store()
        self.store.create(ns("a"))

    def test_deep_copies_and_metadata(self):
        obj = self.store.create(cm("x"))
        obj["data"]["k"] = "changed"
        self.assertEqual(self.store.get("ConfigMap", "a", "x")["data"], {"k": "v"})
        self.assertNotIn("generation", obj["metadata"])          # ConfigMaps have none, as on a real server
        rv1 = int(obj["metadata"]["resourceVersion"])
        obj2 = self.store.create(cm("y"))
        self.assertGreater(int(obj2["metadata"]["resourceVersion"]), rv1)     # one global counter
        with self.assertRaises(StoreError) as e:
            self.store.create(cm("x"))
        self.assertEqual((e.exception.code, e.exception.reason), (409, "AlreadyExists"))
        with self.assertRaises(StoreError) as e:
            self.store.create(cm("x", namespace="nope"))
        self.assertEqual(e.exception.message, 'namespaces "nope" not found')

    def test_update_conflict_and_noop(self):
        obj = self.store.create(cm("x"))
        same = self.store.update(obj)
        self.assertEqual(same["metadata"]["resourceVersion"], obj["metadata"]["resourceVersion"])
        obj["data"] = {"k": "w"}
        new = self.store.update(obj)
        self.assertNotEqual(new["metadata"]["resourceVersion"], obj["metadata"]["resourceVersion"])
        obj["data"] = {"k": "stale"}
        with self.assertRaises(StoreError) as e:
            self.store.update(obj)
        self.assertEqual(e.exception.code, 409)
        del obj["metadata"]["resourceVersion"]
        self.assertEqual(self.store.update(obj)["data"], {"k": "stale"})    # unconditional update

    def test_status_and_generation(self):
        dep = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d", "namespace": "a"},
               "spec": {"selector": {"matchLabels": {"a": "b"}}, "template": {"metadata": {"labels": {"a": "b"}},
                        "spec": {"containers": [{"name": "c", "image": "i:1"}]}}}}
        d = self.store.create(dep)
        self.assertEqual((d["metadata"]["generation"], d["spec"]["replicas"]), (1, 1))
        d["status"] = {"replicas": 1}
        d2 = self.store.update(d)
        self.assertNotIn("status", d2)
        s = self.store.update_status(d2 | {"status": {"replicas": 1}})
        self.assertEqual((s["status"], s["metadata"]["generation"]), ({"replicas": 1}, 1))
        s["spec"]["replicas"] = 2
        s3 = self.store.update(s)
        self.assertEqual((s3["metadata"]["generation"], s3["status"]), (2, {"replicas": 1}))

    def test_garbage_collection_cascades(self):
        owner = self.store.create(cm("owner"))
        ref = [{"apiVersion": "v1", "kind": "ConfigMap", "name": "owner", "uid": owner["metadata"]["uid"]}]
        child = self.store.create(cm("child", ownerReferences=ref))
        gref = [{"apiVersion": "v1", "kind": "ConfigMap", "name": "child", "uid": child["metadata"]["uid"]}]
        self.store.create(cm("grandchild", ownerReferences=gref))
        self.store.create(cm("other"))
        self.store.delete("ConfigMap", "a", "owner")
        self.assertEqual([o["metadata"]["name"] for o in self.store.list("ConfigMap", "a")], ["other"])
        self.store.create(ns("b"))
        self.store.create(cm("in-b", namespace="b"))
        self.store.delete("Namespace", None, "b")
        self.assertEqual(self.store.list("ConfigMap", "b"), [])

    def test_a_dependent_created_after_its_owner_was_deleted_is_collected(self):
        owner = self.store.create(cm("gone-owner"))
        ref = [{"apiVersion": "v1", "kind": "ConfigMap", "name": "gone-owner", "uid": owner["metadata"]["uid"]}]
        self.store.delete("ConfigMap", "a", "gone-owner")
        late = self.store.create(cm("late-child", ownerReferences=ref))    # a controller racing the delete
        self.assertEqual(late["metadata"]["name"], "late-child")             # the create itself succeeds
        self.assertIsNone(self.store.get("ConfigMap", "a", "late-child"))    # and the collector removes it
        # one live owner is enough; so is a cluster-scoped owner
        live = self.store.create(cm("live-owner"))
        both = ref + [{"apiVersion": "v1", "kind": "ConfigMap", "name": "live-owner", "uid": live["metadata"]["uid"]}]
        self.store.create(cm("kept-child", ownerReferences=both))
        self.assertIsNotNone(self.store.get("ConfigMap", "a", "kept-child"))
        nsref = [{"apiVersion": "v1", "kind": "Namespace", "name": "a",
                  "uid": self.store.get("Namespace", None, "a")["metadata"]["uid"]}]
        self.store.create(cm("ns-child", ownerReferences=nsref))
        self.assertIsNotNone(self.store.get("ConfigMap", "a", "ns-child"))

    def test_subscribers_see_events_in_order(self):
        seen = []
        done = threading.Event()

        def fn(event, obj):
            seen.append((event, obj["metadata"]["name"]))
            if event == "DELETED":
                done.set()
        self.store.subscribe(fn)
        o = self.store.create(cm("s"))
        o["data"] = {"k": "2"}
        self.store.update(o)
        self.store.delete("ConfigMap", "a", "s")
        self.assertTrue(done.wait(5))
        self.assertEqual(seen, [("ADDED", "s"), ("MODIFIED", "s"), ("DELETED", "s")])

    def test_each_subscriber_gets_its_own_copy(self):
        got = []
        done = threading.Event()

        def changer(event, obj):
            obj["data"]["k"] = "changed by a subscriber"
            got.append(obj)

        def reader(event, obj):
            got.append(obj)
            done.set()
        self.store.subscribe(changer)
        self.store.subscribe(reader)
        self.store.create(cm("shared"))
        self.assertTrue(done.wait(5))
        self.assertEqual(got[1]["data"], {"k": "v"})
        self.assertEqual(self.store.get("ConfigMap", "a", "shared")["data"], {"k": "v"})

    def test_shared_subscribers_get_one_copy_and_the_others_their_own(self):
        got = {}
        done = threading.Event()

        def recorder(name):
            def fn(event, obj):
                got[name] = obj
                if len(got) == 3:
                    done.set()
            return fn
        self.store.subscribe(recorder("shared-1"), shared=True)
        self.store.subscribe(recorder("own"))
        self.store.subscribe(recorder("shared-2"), shared=True)
        self.store.create(cm("fanned"))
        self.assertTrue(done.wait(5))
        self.assertIs(got["shared-1"], got["shared-2"])
        self.assertIsNot(got["own"], got["shared-1"])
        self.assertEqual(got["own"], got["shared-1"])
        got["own"]["data"]["k"] = "changed"
        self.assertEqual(self.store.get("ConfigMap", "a", "fanned")["data"], {"k": "v"})

    def test_keys_by_kind_and_namespace_without_copies(self):
        self.store.create(ns("b"))
        for n, where in (("z", "a"), ("m", "b"), ("c", "a")):
            self.store.create(cm(n, namespace=where, labels={"pick": "yes" if n != "m" else "no"}))
        self.store.create({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "namespace": "a"}})
        self.assertEqual(self.store.keys("ConfigMap"), [("a", "c"), ("a", "z"), ("b", "m")])
        self.assertEqual(self.store.keys("ConfigMap", "b"), [("b", "m")])
        self.assertEqual(self.store.keys("ConfigMap", where=lambda o: o["metadata"]["labels"]["pick"] == "no"),
                         [("b", "m")])
        self.assertEqual(self.store.keys("Namespace"), [(None, "a"), (None, "b")])    # cluster-scoped: None
        self.assertEqual([o["metadata"]["name"] for o in self.store.list("ConfigMap")], ["c", "z", "m"])
        self.store.delete("Namespace", None, "b")
        self.assertEqual(self.store.keys("ConfigMap"), [("a", "c"), ("a", "z")])
        self.assertEqual([o["metadata"]["name"] for o in self.store.list("ConfigMap")], ["c", "z"])

    def test_kind_version_changes_with_every_change_of_the_kind_only(self):
        v0 = self.store.kind_version("ConfigMap")
        o = self.store.create(cm("k"))
        v1 = self.store.kind_version("ConfigMap")
        self.assertNotEqual(v1, v0)
        self.store.create({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "namespace": "a"}})
        self.assertEqual(self.store.kind_version("ConfigMap"), v1)          # another kind: no change
        self.store.update(o)                                                 # a no-op write: no change
        self.assertEqual(self.store.kind_version("ConfigMap"), v1)
        o["data"] = {"k": "2"}
        self.store.update(o, dry_run=True)
        self.assertEqual(self.store.kind_version("ConfigMap"), v1)
        self.store.update(o)
        v2 = self.store.kind_version("ConfigMap")
        self.assertNotEqual(v2, v1)
        self.store.delete("ConfigMap", "a", "k")
        self.assertNotEqual(self.store.kind_version("ConfigMap"), v2)

    def test_derived_values_are_computed_again_only_after_a_change_of_their_kind(self):
        calls = []

        def names():
            calls.append(1)
            return [o["metadata"]["name"] for o in self.store.list("ConfigMap")]
        self.assertEqual(self.store.derived("ConfigMap", "names", names), [])
        self.assertEqual(self.store.derived("ConfigMap", "names", names), [])
        self.assertEqual(len(calls), 1)
        self.store.create({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "namespace": "a"}})
        self.store.derived("ConfigMap", "names", names)
        self.assertEqual(len(calls), 1)                     # another kind changed: still valid
        self.store.create(cm("d"))
        self.assertEqual(self.store.derived("ConfigMap", "names", names), ["d"])
        self.store.delete("ConfigMap", "a", "d")
        self.assertEqual(self.store.derived("ConfigMap", "names", names), [])
        self.assertEqual(len(calls), 3)
        self.assertEqual(self.store.version_of("ConfigMap", "a", "d"), None)
        self.assertEqual(self.store.version_of("Namespace", "ignored", "a"),
                         self.store.get("Namespace", None, "a")["metadata"]["resourceVersion"])

    def test_clone_is_deep_and_keeps_types_and_order(self):
        from sandboxlib.store import clone
        value = {"b": [1, 2.5, True, None, {"x": "y"}], "a": {"n": False}}
        copied = clone(value)
        self.assertEqual(copied, value)
        self.assertEqual(list(copied), ["b", "a"])
        self.assertIs(copied["b"][2], True)
        copied["b"][4]["x"] = "changed"
        self.assertEqual(value["b"][4]["x"], "y")

        class Tagged(dict):     # not marshal's: copied by copy.deepcopy, its type kept
            pass
        odd = clone({"t": Tagged(k=[1])})
        self.assertIsInstance(odd["t"], Tagged)
        self.assertEqual(odd["t"], {"k": [1]})

    def test_logs_and_label_listing(self):
        self.store.create(cm("l1", labels={"app": "x", "tier": "db"}))
        self.store.create(cm("l2", labels={"app": "y"}))
        names = [o["metadata"]["name"] for o in self.store.list("ConfigMap", "a", "app in (x, z),tier")]
        self.assertEqual(names, ["l1"])
        self.store.set_log("a", "p", "one\ntwo\n")
        self.assertEqual(self.store.get_log("a", "p"), "one\ntwo\n")
        self.assertIsNone(self.store.get_log("a", "q"))


class SelectorTest(unittest.TestCase):
    def test_parse_and_match(self):
        s = LabelSelector.parse("a=1, b!=2, c in (x,y), d notin (z), e, !f")
        self.assertTrue(s.matches({"a": "1", "c": "x", "e": ""}))
        self.assertFalse(s.matches({"a": "1", "c": "x", "e": "", "f": "1"}))
        self.assertFalse(s.matches({"a": "1", "b": "2", "c": "x", "e": ""}))
        self.assertFalse(s.matches({"a": "1", "c": "q", "e": ""}))
        with self.assertRaises(SelectorError):
            LabelSelector.parse("a in x")


class PatchTest(unittest.TestCase):
    def test_merge_patch_rfc7386_examples(self):
        cases = [({"a": "b"}, {"a": "c"}, {"a": "c"}), ({"a": "b"}, {"b": "c"}, {"a": "b", "b": "c"}),
                 ({"a": "b"}, {"a": None}, {}), ({"a": "b", "b": "c"}, {"a": None}, {"b": "c"}),
                 ({"a": ["b"]}, {"a": "c"}, {"a": "c"}), ({"a": "c"}, {"a": ["b"]}, {"a": ["b"]}),
                 ({"a": {"b": "c"}}, {"a": {"b": "d", "c": None}}, {"a": {"b": "d"}}),
                 ({"a": [{"b": "c"}]}, {"a": [1]}, {"a": [1]}), (["a", "b"], ["c", "d"], ["c", "d"]),
                 ({"a": "b"}, ["c"], ["c"]), ({"a": "foo"}, None, None), ({"e": None}, {"a": 1}, {"e": None, "a": 1}),
                 ([1, 2], {"a": "b", "c": None}, {"a": "b"}), ({}, {"a": {"bb": {"ccc": None}}}, {"a": {"bb": {}}})]
        for target, patch, want in cases:
            self.assertEqual(merge_patch(target, patch), want, (target, patch))

    def test_json_patch(self):
        doc = {"foo": ["bar", "baz"], "a~b": 1, "c/d": 2}
        out = json_patch(doc, [{"op": "add", "path": "/foo/1", "value": "qux"},
                               {"op": "remove", "path": "/a~0b"},
                               {"op": "replace", "path": "/c~1d", "value": 3},
                               {"op": "copy", "from": "/foo/0", "path": "/first"},
                               {"op": "move", "from": "/foo/2", "path": "/foo/-"},
                               {"op": "test", "path": "/foo", "value": ["bar", "qux", "baz"]}])
        self.assertEqual(out, {"foo": ["bar", "qux", "baz"], "c/d": 3, "first": "bar"})
        self.assertEqual(doc["foo"], ["bar", "baz"])                    # input untouched
        for bad in ([{"op": "remove", "path": "/nope"}], [{"op": "test", "path": "/a~0b", "value": 2}],
                    [{"op": "add", "path": "/foo/9", "value": 1}], [{"op": "replace", "path": "/x", "value": 1}],
                    [{"op": "move", "from": "/foo", "path": "/foo/0"}]):
            with self.assertRaises(PatchError):
                json_patch(doc, bad)

    def test_apply_merge(self):
        live = {"spec": {"containers": [{"name": "a", "image": "1"}, {"name": "b", "image": "1"}], "x": 1}}
        out = apply_merge(live, {"spec": {"containers": [{"name": "b", "image": "2"}]}})
        self.assertEqual(out["spec"]["containers"], [{"name": "a", "image": "1"}, {"name": "b", "image": "2"}])
        self.assertEqual(out["spec"]["x"], 1)


class FaultTest(unittest.TestCase):
    def test_take_consumes_matching_rules(self):
        f = FaultInjector()
        f.add({"target": "kube", "method": "get", "path": "/secrets/", "count": 2, "action": "503"})
        self.assertIsNone(f.take("gcp", "GET", "/api/v1/namespaces/a/secrets/x"))
        self.assertIsNone(f.take("kube", "PUT", "/api/v1/namespaces/a/secrets/x"))
        self.assertIsNone(f.take("kube", "GET", "/api/v1/namespaces/a/configmaps/x"))
        self.assertEqual(f.take("kube", "GET", "/api/v1/namespaces/a/secrets/x")["action"], "503")
        self.assertIsNotNone(f.take("kube", "GET", "/api/v1/namespaces/a/secrets/x"))
        self.assertIsNone(f.take("kube", "GET", "/api/v1/namespaces/a/secrets/x"))
        for bad in ({"target": "x", "action": "503"}, {"target": "kube", "action": "boom"},
                    {"target": "kube", "action": "503", "count": 0}, {"target": "kube", "action": "503", "path": "("}):
            with self.assertRaises(FaultError):
                f.add(bad)

    def test_after_rules_apply_only_after_the_request_acted(self):
        f = FaultInjector()
        f.add({"target": "gcp", "method": "POST", "path": ":addVersion$", "action": "503", "after": True})
        self.assertIsNone(f.take("gcp", "POST", "/v1/projects/p/secrets/s:addVersion"))
        self.assertEqual(f.take("gcp", "POST", "/v1/projects/p/secrets/s:addVersion", after=True)["action"], "503")
        self.assertIsNone(f.take("gcp", "POST", "/v1/projects/p/secrets/s:addVersion", after=True))
        for bad in ({"target": "job", "action": "503", "after": True}, {"target": "kube", "action": "slow", "after": True}):
            with self.assertRaises(FaultError):
                f.add(bad)


if __name__ == "__main__":
    unittest.main()
