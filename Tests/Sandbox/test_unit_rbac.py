"""Unit tests of the RBAC evaluator (sandboxlib/rbac.py): the rules a SelfSubjectRulesReview
reports, from an in-memory store; no sandbox."""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from sandboxlib import rbac  # noqa: E402
from sandboxlib.serviceaccounts import service_account_user  # noqa: E402
from sandboxlib.store import Store  # noqa: E402

G = "rbac.authorization.k8s.io"


def role(name, rules, ns=None, kind="Role", labels=None, aggregate=None):
    md = {"name": name} | ({"namespace": ns} if ns else {}) | ({"labels": labels} if labels else {})
    o = {"apiVersion": f"{G}/v1", "kind": kind, "metadata": md, "rules": rules}
    if aggregate:
        o["aggregationRule"] = {"clusterRoleSelectors": [{"matchLabels": aggregate}]}
    return o


def binding(name, ref_kind, ref_name, subjects, ns=None):
    md = {"name": name} | ({"namespace": ns} if ns else {})
    return {"apiVersion": f"{G}/v1", "kind": "RoleBinding" if ns else "ClusterRoleBinding", "metadata": md,
            "roleRef": {"apiGroup": G, "kind": ref_kind, "name": ref_name}, "subjects": subjects}


def sa(name, ns):
    return {"kind": "ServiceAccount", "name": name, "namespace": ns}


class RulesReviewTests(unittest.TestCase):
    def setUp(self):
        self.store = Store()
        for ns in ("a", "b"):
            self.store.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
        for o in rbac.bootstrap_objects("viewer"):
            self.store.create(o)
        self.bot = service_account_user("a", "bot")

    def add(self, *objs):
        for o in objs:
            self.store.create(o)

    def test_rules_in_resolver_order_split_and_unmerged(self):
        mixed = {"apiGroups": [""], "resources": ["pods"], "nonResourceURLs": ["/metrics"], "verbs": ["get"]}
        self.add(role("r", [{"apiGroups": [""], "resources": ["secrets"], "resourceNames": ["s1"], "verbs": ["get"]}],
                      ns="a"),
                 role("mixed", [mixed], kind="ClusterRole"),
                 binding("z-rb", "Role", "r", [sa("bot", "a")], ns="a"),
                 binding("a-crb", "ClusterRole", "mixed", [sa("bot", "a")]))
        st = rbac.rules_review_status(self.store, self.bot, "a")
        self.assertEqual(st["incomplete"], False)
        self.assertNotIn("evaluationError", st)
        # ClusterRoleBindings by name (a-crb, then the bootstrap system:basic-user), then RoleBindings
        self.assertEqual(st["resourceRules"], [
            {"verbs": ["get"], "apiGroups": [""], "resources": ["pods"]},
            {"verbs": ["create"], "apiGroups": ["authorization.k8s.io"],
             "resources": ["selfsubjectaccessreviews", "selfsubjectrulesreviews"]},
            {"verbs": ["get"], "apiGroups": [""], "resources": ["secrets"], "resourceNames": ["s1"]}])
        self.assertEqual(st["nonResourceRules"][0], {"verbs": ["get"], "nonResourceURLs": ["/metrics"]})
        self.assertEqual(len(st["nonResourceRules"]), 2)   # and system:discovery's
        # in namespace b only the cluster-wide rules
        st_b = rbac.rules_review_status(self.store, self.bot, "b")
        self.assertEqual(st_b["resourceRules"], st["resourceRules"][:2])

    def test_groups_aggregation_and_service_account_namespace_default(self):
        self.add(role("agg", [], kind="ClusterRole", aggregate={"x/agg": "true"}),
                 role("part", [{"apiGroups": ["apps"], "resources": ["deployments/scale"], "verbs": ["patch"]}],
                      kind="ClusterRole", labels={"x/agg": "true"}),
                 binding("ns-group", "ClusterRole", "agg", [{"kind": "Group", "name": "system:serviceaccounts:a"}],
                         ns="b"),
                 # a ServiceAccount subject without a namespace means the binding's namespace
                 binding("local-sa", "ClusterRole", "part", [{"kind": "ServiceAccount", "name": "bot"}], ns="a"))
        rules = rbac.rules_review_status(self.store, self.bot, "b")["resourceRules"]
        self.assertIn({"verbs": ["patch"], "apiGroups": ["apps"], "resources": ["deployments/scale"]}, rules)
        rules = rbac.rules_review_status(self.store, self.bot, "a")["resourceRules"]
        self.assertIn({"verbs": ["patch"], "apiGroups": ["apps"], "resources": ["deployments/scale"]}, rules)
        other = service_account_user("b", "bot")
        self.assertNotIn({"verbs": ["patch"], "apiGroups": ["apps"], "resources": ["deployments/scale"]},
                         rbac.rules_review_status(self.store, other, "a")["resourceRules"])

    def test_unresolved_roles_are_an_evaluation_error_not_incomplete(self):
        self.add(binding("gone", "ClusterRole", "no-such", [sa("bot", "a")]),
                 binding("gone-role", "Role", "missing", [sa("bot", "a")], ns="a"))
        st = rbac.rules_review_status(self.store, self.bot, "a")
        self.assertEqual(st["incomplete"], False)
        self.assertEqual(st["evaluationError"], f'[clusterrole.{G} "no-such" not found, role.{G} "missing" not found]')
        self.assertEqual(rbac.rules_review_status(self.store, self.bot, "b")["evaluationError"],
                         f'clusterrole.{G} "no-such" not found')

    def test_admin_and_viewer_rules_come_from_their_bindings(self):
        admin = rbac.UserInfo("admin", (rbac.MASTERS,))
        st = rbac.rules_review_status(self.store, admin, "a")
        self.assertEqual(st["resourceRules"][0], {"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]})
        self.assertEqual(st["nonResourceRules"][0], {"verbs": ["*"], "nonResourceURLs": ["*"]})
        viewer = rbac.rules_review_status(self.store, rbac.UserInfo("viewer"), "a")
        self.assertIn({"verbs": ["get", "list", "watch"], "apiGroups": ["*"], "resources": ["*"]},
                      viewer["resourceRules"])
        self.assertNotIn({"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}, viewer["resourceRules"])


if __name__ == "__main__":
    unittest.main()
