"""Unit tests of the RBAC evaluator (sandboxlib/rbac.py): the rules a SelfSubjectRulesReview
reports, and escalation prevention (sandboxlib/escalation.py), from an in-memory store; no sandbox."""
import copy
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from sandboxlib import escalation, rbac  # noqa: E402
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



def rule(groups, resources, verbs, names=None):
    r = {"apiGroups": groups, "resources": resources, "verbs": verbs}
    return r | ({"resourceNames": names} if names else {})


SA_GROUPS = '(groups=["system:serviceaccounts" "system:serviceaccounts:a" "system:authenticated"])'


class EscalationTests(unittest.TestCase):
    def setUp(self):
        self.store = Store()
        for ns in ("a", "b"):
            self.store.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
        for o in rbac.bootstrap_objects("viewer"):
            self.store.create(o)
        self.bot = service_account_user("a", "bot")
        self.grant("a", [rule([""], ["configmaps"], ["get", "list"]), rule(["apps"], ["*/scale"], ["get"]),
                         rule([""], ["secrets"], ["get"], ["s1", "s2"]),
                         {"nonResourceURLs": ["/logs/*"], "verbs": ["get"]}])

    def grant(self, ns, rules, name="held", kind="Role"):
        self.store.create(role(name, rules, ns=ns if kind == "Role" else None, kind=kind))
        self.store.create(binding(name, kind, name, [sa("bot", "a")], ns=ns))

    def check(self, kind, obj, ns="a", name=None, old=None, user=None):
        escalation.check_write(self.store, user or self.bot, kind, ns, name, obj, old)

    def refused(self, kind, obj, ns="a", name=None, old=None) -> str:
        with self.assertRaises(escalation.EscalationError) as c:
            self.check(kind, obj, ns, name, old)
        return c.exception.message

    def test_covers_atoms_wildcards_subresources_names_and_urls(self):
        held, _ = rbac.rules_for(self.store, self.bot, "a")
        self.assertEqual(escalation.missing_rules(held, [rule([""], ["configmaps"], ["list", "get"]),
                                                         rule(["apps"], ["deployments/scale"], ["get"]),
                                                         rule([""], ["secrets"], ["get"], ["s2"]),
                                                         {"nonResourceURLs": ["/logs/x/y"], "verbs": ["get"]}]), [])
        self.assertEqual(escalation.missing_rules(held, [rule([""], ["secrets"], ["get"]),
                                                         rule([""], ["secrets"], ["get"], ["s1", "s3"]),
                                                         rule(["apps"], ["deployments"], ["get"]),
                                                         rule(["*"], ["configmaps"], ["get"]),
                                                         {"nonResourceURLs": ["/logs"], "verbs": ["get"]}]),
                         [rule([""], ["secrets"], ["get"]), rule([""], ["secrets"], ["get"], ["s3"]),
                          rule(["apps"], ["deployments"], ["get"]), rule(["*"], ["configmaps"], ["get"]),
                          {"nonResourceURLs": ["/logs"], "verbs": ["get"]}])

    def test_role_refused_with_the_real_text(self):
        msg = self.refused("Role", role("r", [rule(["", "apps"], ["secrets"], ["list", "get"]),
                                             rule([""], ["configmaps"], ["get", "delete"]),
                                             rule([""], ["pods"], ["get"], ["p1", "p2"])], ns="a"))
        self.assertEqual(msg, 'roles.rbac.authorization.k8s.io "r" is forbidden: user "system:serviceaccount:a:bot" '
                              f'{SA_GROUPS} is attempting to grant RBAC permissions not currently held:\n'
                              '{APIGroups:[""], Resources:["configmaps"], Verbs:["delete"]}\n'
                              '{APIGroups:[""], Resources:["pods"], ResourceNames:["p1"], Verbs:["get"]}\n'
                              '{APIGroups:[""], Resources:["pods"], ResourceNames:["p2"], Verbs:["get"]}\n'
                              '{APIGroups:[""], Resources:["secrets"], Verbs:["list" "get"]}\n'
                              '{APIGroups:["apps"], Resources:["secrets"], Verbs:["list" "get"]}')
        # held rules pass; in namespace b the bot holds nothing of namespace a
        self.check("Role", role("r", [rule([""], ["configmaps"], ["get"])], ns="a"))
        self.assertIn('Resources:["configmaps"], Verbs:["get"]}',
                      self.refused("Role", role("r", [rule([""], ["configmaps"], ["get"])], ns="b"), ns="b"))

    def test_escalate_verb_admin_and_gc_only_updates(self):
        wide = role("w", [rule([""], ["secrets"], ["*"])], ns="a")
        self.refused("Role", wide)
        self.check("Role", wide, user=rbac.UserInfo("admin", (rbac.MASTERS,)))
        old = role("w", [rule([""], ["secrets"], ["*"])], ns="a")
        old["metadata"].update({"resourceVersion": "5", "uid": "u"})
        gc = copy.deepcopy(old)
        gc["metadata"]["ownerReferences"] = [{"apiVersion": "v1", "kind": "ConfigMap", "name": "o", "uid": "x"}]
        self.check("Role", gc, name="w", old=old)
        labelled = copy.deepcopy(old)
        labelled["metadata"]["labels"] = {"x": "y"}
        self.refused("Role", labelled, name="w", old=old)
        # escalate on roles named w: the update passes, a create (no name in the request) does not
        self.grant("a", [rule([rbac.RBAC_GROUP], ["roles"], ["escalate"], ["w"])], name="esc-w")
        self.check("Role", labelled, name="w", old=old)
        self.refused("Role", wide)
        self.grant("a", [rule([rbac.RBAC_GROUP], ["roles"], ["escalate"])], name="esc")
        self.check("Role", wide)

    def test_aggregation_rule_needs_everything(self):
        agg = role("agg", [], kind="ClusterRole", aggregate={"x": "y"})
        self.assertEqual(self.refused("ClusterRole", agg, ns=""), 'clusterroles.rbac.authorization.k8s.io "agg" is '
                         'forbidden: must have cluster-admin privileges to use the aggregationRule')
        plain = role("agg", [], kind="ClusterRole")
        self.refused("ClusterRole", plain, ns="", name="agg", old=agg)
        self.check("ClusterRole", plain, ns="")
        self.store.create(binding("bot-admin", "ClusterRole", "cluster-admin", [sa("bot", "a")]))
        self.check("ClusterRole", agg, ns="")

    def test_bindings_need_the_roles_rules_or_bind(self):
        self.store.create(role("cm", [rule([""], ["configmaps"], ["get"])], ns="a"))
        self.store.create(role("big", [rule([""], ["secrets"], ["*"])], kind="ClusterRole"))
        self.store.create(role("big2", [rule([""], ["secrets"], ["*"])], kind="ClusterRole"))
        self.check("RoleBinding", binding("b", "Role", "cm", [sa("x", "a")], ns="a"))
        msg = self.refused("RoleBinding", binding("b", "ClusterRole", "big", [sa("x", "a")], ns="a"))
        self.assertTrue(msg.startswith('rolebindings.rbac.authorization.k8s.io "b" is forbidden: user '
                                       '"system:serviceaccount:a:bot"'), msg)
        self.assertTrue(msg.endswith('\n{APIGroups:[""], Resources:["secrets"], Verbs:["*"]}'), msg)
        self.assertEqual(self.refused("RoleBinding", binding("b", "Role", "nope", [sa("x", "a")], ns="a")),
                         'rolebindings.rbac.authorization.k8s.io "b" is forbidden: role.rbac.authorization.k8s.io '
                         '"nope" not found')
        # a ClusterRoleBinding is checked against cluster-wide rules only: the Role-held configmaps do not count
        self.store.create(role("cm-c", [rule([""], ["configmaps"], ["get"])], kind="ClusterRole"))
        self.check("RoleBinding", binding("b", "ClusterRole", "cm-c", [sa("x", "a")], ns="a"))
        self.assertIn("clusterrolebindings", self.refused(
            "ClusterRoleBinding", binding("b", "ClusterRole", "cm-c", [sa("x", "a")]), ns=""))
        # bind on clusterroles named big, in namespace a
        self.grant("a", [rule([rbac.RBAC_GROUP], ["clusterroles"], ["bind"], ["big"])], name="bind-big")
        self.check("RoleBinding", binding("b", "ClusterRole", "big", [sa("x", "a")], ns="a"))
        self.refused("RoleBinding", binding("b", "ClusterRole", "big2", [sa("x", "a")], ns="a"))
        self.refused("ClusterRoleBinding", binding("b", "ClusterRole", "big", [sa("x", "a")]), ns="")

    def test_resolution_errors_are_appended(self):
        self.store.create(binding("gone", "Role", "gone", [sa("bot", "a")], ns="a"))
        msg = self.refused("Role", role("r", [rule([""], ["secrets"], ["get"])], ns="a"))
        self.assertTrue(msg.endswith('Verbs:["get"]}; resolution errors: [role.rbac.authorization.k8s.io "gone" not '
                                     'found]'), msg)


if __name__ == "__main__":
    unittest.main()
