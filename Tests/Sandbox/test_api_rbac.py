"""ServiceAccounts, tokens and RBAC as the real API server evaluates them, with real kubectl as the
witness (`kubectl create token`, `auth can-i`, forbidden gets), access reviews and Leases."""

import base64
import json
import re
import time
import unittest

from sandboxlib.harness import RawClient, SandboxTestCase

NS = "rb"


class RBACTests(SandboxTestCase):
    @classmethod
    def _after_up(cls):
        super()._after_up()
        cls.ensure_namespace(NS)

    def sa(self, name: str) -> str:
        """A new ServiceAccount in NS and a token for it (TokenRequest)."""
        self.kubectl("create", "serviceaccount", name, "-n", NS)
        return self.kubectl("create", "token", name, "-n", NS).stdout.strip()

    def as_token(self, token, *args, check=False):
        return self.kubectl("--token", token, *args, context="sandbox-viewer", check=check)

    def can_i(self, token, *args) -> str:
        return self.as_token(token, "auth", "can-i", *args).stdout.strip()

    def test_forbidden_message_resource_names_and_can_i(self):
        tok = self.sa("bot")
        self.kubectl("create", "secret", "generic", "x", "-n", NS, "--from-literal=a=b")
        p = self.as_token(tok, "get", "secret", "x", "-n", NS)
        self.assertEqual(p.returncode, 1)
        self.assertIn('Error from server (Forbidden): secrets "x" is forbidden: User "system:serviceaccount:rb:bot" '
                      'cannot get resource "secrets" in API group "" in the namespace "rb"', p.stderr)
        self.assertEqual(self.can_i(tok, "get", "secrets/x", "-n", NS), "no")
        self.kubectl("create", "role", "read-x", "-n", NS, "--verb=get", "--resource=secrets", "--resource-name=x")
        self.kubectl("create", "rolebinding", "bot-read-x", "-n", NS, "--role=read-x", "--serviceaccount=rb:bot")
        self.assertEqual(self.can_i(tok, "get", "secrets/x", "-n", NS), "yes")
        self.assertEqual(self.can_i(tok, "get", "secrets/y", "-n", NS), "no")
        self.assertEqual(self.can_i(tok, "list", "secrets", "-n", NS), "no")
        self.assertEqual(self.can_i(tok, "get", "secrets/x", "-n", "default"), "no")
        obj = json.loads(self.as_token(tok, "get", "secret", "x", "-n", NS, "-o", "json", check=True).stdout)
        self.assertEqual(obj["metadata"]["name"], "x")
        p = self.as_token(tok, "get", "secrets", "-n", NS)
        self.assertIn('secrets is forbidden: User "system:serviceaccount:rb:bot" cannot list resource "secrets" in '
                      'API group "" in the namespace "rb"', p.stderr)
        p = self.as_token(tok, "get", "deployments", "-A")
        self.assertIn('deployments.apps is forbidden: User "system:serviceaccount:rb:bot" cannot list resource '
                      '"deployments" in API group "apps" at the cluster scope', p.stderr)

    def test_subresources_wildcards_and_cluster_roles(self):
        tok = self.sa("scaler")
        self.kubectl("create", "role", "scale-only", "-n", NS, "--verb=get,patch", "--resource=deployments/scale")
        self.kubectl("create", "rolebinding", "scaler-scale", "-n", NS, "--role=scale-only",
                     "--serviceaccount=rb:scaler")
        self.assertEqual(self.can_i(tok, "patch", "deployments", "--subresource=scale", "-n", NS), "yes")
        self.assertEqual(self.can_i(tok, "patch", "deployments", "-n", NS), "no")
        self.kubectl("create", "clusterrole", "all-leases", "--verb=*", "--resource=leases.coordination.k8s.io")
        self.kubectl("create", "clusterrolebinding", "scaler-leases", "--clusterrole=all-leases",
                     "--serviceaccount=rb:scaler")
        self.assertEqual(self.can_i(tok, "delete", "leases.coordination.k8s.io", "-n", "default"), "yes")
        self.assertEqual(self.can_i(tok, "delete", "leases.coordination.k8s.io", "-n", NS), "yes")
        self.assertEqual(self.can_i(tok, "delete", "configmaps", "-n", NS), "no")

    def test_aggregated_cluster_role(self):
        tok = self.sa("agg")
        self.kubectl("apply", "-f", "-", input="""
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: team-agg}
aggregationRule:
  clusterRoleSelectors:
  - matchLabels: {team.example/aggregate: "true"}
rules: []
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: team-part, labels: {team.example/aggregate: "true"}}
rules:
- apiGroups: [""]
  resources: [configmaps]
  verbs: [get, list]
""")
        self.kubectl("create", "rolebinding", "agg", "-n", NS, "--clusterrole=team-agg", "--serviceaccount=rb:agg")
        self.assertEqual(self.can_i(tok, "list", "configmaps", "-n", NS), "yes")
        self.kubectl("label", "clusterrole", "team-part", "team.example/aggregate-")
        self.assertEqual(self.can_i(tok, "list", "configmaps", "-n", NS), "no")
        # the bootstrap `view` role is aggregated too, and does not grant secrets
        self.kubectl("create", "rolebinding", "agg-view", "-n", NS, "--clusterrole=view", "--serviceaccount=rb:agg")
        self.assertEqual(self.can_i(tok, "list", "pods", "-n", NS), "yes")
        self.assertEqual(self.can_i(tok, "list", "secrets", "-n", NS), "no")

    def test_subject_access_review_and_missing_role(self):
        self.kubectl("create", "serviceaccount", "rev", "-n", NS)
        self.kubectl("create", "role", "cm-reader", "-n", NS, "--verb=get", "--resource=configmaps")
        self.kubectl("create", "rolebinding", "rev-cm", "-n", NS, "--role=cm-reader", "--serviceaccount=rb:rev")
        self.kubectl("create", "rolebinding", "rev-gone", "-n", NS, "--role=gone", "--serviceaccount=rb:rev")
        review = {"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview",
                  "spec": {"user": "system:serviceaccount:rb:rev",
                           "groups": ["system:serviceaccounts", "system:serviceaccounts:rb", "system:authenticated"],
                           "resourceAttributes": {"namespace": NS, "verb": "get", "resource": "configmaps",
                                                  "name": "any"}}}
        s, _, body = self.admin.request("POST", "/apis/authorization.k8s.io/v1/subjectaccessreviews", review)
        self.assertEqual(s, 201, body)
        self.assertEqual(body["status"], {"allowed": True, "reason": 'RBAC: allowed by RoleBinding "rev-cm/rb" of Role '
                                                                    '"cm-reader" to ServiceAccount "rev/rb"'})
        review["spec"]["resourceAttributes"]["verb"] = "delete"
        s, _, body = self.admin.request("POST", "/apis/authorization.k8s.io/v1/subjectaccessreviews", review)
        self.assertEqual(body["status"], {"allowed": False,
                                          "reason": 'RBAC: role.rbac.authorization.k8s.io "gone" not found'})
        s, _, body = self.viewer.request("POST", "/apis/authorization.k8s.io/v1/subjectaccessreviews", review)
        self.assertEqual(s, 403)
        self.assertEqual(body["message"], 'subjectaccessreviews.authorization.k8s.io is forbidden: User "viewer" '
                                          'cannot create resource "subjectaccessreviews" in API group '
                                          '"authorization.k8s.io" at the cluster scope')
        tok = self.kubectl("create", "token", "rev", "-n", NS).stdout.strip()
        p = self.as_token(tok, "delete", "configmap", "c", "-n", NS)
        self.assertIn('configmaps "c" is forbidden: User "system:serviceaccount:rb:rev" cannot delete resource '
                      '"configmaps" in API group "" in the namespace "rb": RBAC: role.rbac.authorization.k8s.io "gone" '
                      'not found', p.stderr)

    def test_token_secret_and_deleted_service_account(self):
        self.kubectl("create", "serviceaccount", "legacy", "-n", NS)
        self.kubectl("apply", "-n", NS, "-f", "-", input="""
apiVersion: v1
kind: Secret
metadata:
  name: legacy-token
  annotations: {kubernetes.io/service-account.name: legacy}
type: kubernetes.io/service-account-token
""")
        deadline = time.monotonic() + 10
        while True:
            data = self.kget("secret", "legacy-token", "-n", NS).get("data") or {}
            if "token" in data or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        self.assertEqual(sorted(data), ["ca.crt", "namespace", "token"])
        tok = base64.b64decode(data["token"]).decode()
        self.assertEqual(self.can_i(tok, "create", "selfsubjectaccessreviews.authorization.k8s.io"), "yes")
        self.assertEqual(self.can_i(tok, "list", "pods", "-n", NS), "no")
        self.kubectl("delete", "serviceaccount", "legacy", "-n", NS)
        p = self.as_token(tok, "get", "pods", "-n", NS)
        self.assertIn("Unauthorized", p.stderr)

    def test_viewer_is_rbac_bound(self):
        self.assertEqual(self.kubectl("auth", "can-i", "list", "secrets", "-n", NS, context="sandbox-viewer").stdout.strip(),
                         "yes")
        binding = self.kget("clusterrolebinding", "sandbox-viewer")
        self.kubectl("delete", "clusterrolebinding", "sandbox-viewer")
        try:
            p = self.kubectl("get", "configmaps", "-n", NS, context="sandbox-viewer", check=False)
            self.assertIn('configmaps is forbidden: User "viewer" cannot list resource "configmaps" in API group "" in '
                          'the namespace "rb"', p.stderr)
        finally:
            for k in ("resourceVersion", "uid", "creationTimestamp"):
                binding["metadata"].pop(k, None)
            self.kubectl("apply", "-f", "-", input=json.dumps(binding))
        self.kubectl("get", "configmaps", "-n", NS, context="sandbox-viewer")

    def can_i_list(self, *args, token=None, context=None) -> list:
        """`kubectl auth can-i --list ARGS` (the real kubectl's table) as rows of cells; an empty
        first cell where kubectl prints none."""
        p = self.as_token(token, "auth", "can-i", "--list", *args, check=True) if token else \
            self.kubectl("auth", "can-i", "--list", *args, context=context)
        self.assertEqual(p.stderr, "")
        lines = p.stdout.splitlines()
        self.assertEqual(re.split(r"\s{2,}", lines[0].strip()), ["Resources", "Non-Resource URLs", "Resource Names",
                                                                 "Verbs"])
        return [([""] if line.startswith(" ") else []) + re.split(r"\s{2,}", line.strip()) for line in lines[1:]]

    DISCOVERY_ROWS = [["", f"[{u}]", "[]", "[get]"] for u in
                      ("/api/*", "/api", "/apis/*", "/apis", "/healthz", "/livez", "/openapi/*", "/openapi", "/readyz",
                       "/version/", "/version")]
    REVIEW_ROWS = [["selfsubjectaccessreviews.authorization.k8s.io", "[]", "[]", "[create]"],
                   ["selfsubjectrulesreviews.authorization.k8s.io", "[]", "[]", "[create]"]]

    def test_can_i_list_as_admin_viewer_and_service_account(self):
        self.assertEqual(self.can_i_list("-n", NS), [["*.*", "[]", "[]", "[*]"], ["", "[*]", "[]", "[*]"]]
                         + self.REVIEW_ROWS + self.DISCOVERY_ROWS)
        self.assertEqual(self.can_i_list("-n", NS, context="sandbox-viewer"),
                         self.REVIEW_ROWS + [["*.*", "[]", "[]", "[get list watch]"], ["", "[*]", "[]", "[get]"]]
                         + self.DISCOVERY_ROWS)
        tok = self.sa("lister")
        self.kubectl("create", "role", "lister-cm", "-n", NS, "--verb=get,update", "--resource=configmaps",
                     "--resource-name=app", "--resource-name=web")
        self.kubectl("create", "rolebinding", "lister-cm", "-n", NS, "--role=lister-cm", "--serviceaccount=rb:lister")
        self.kubectl("create", "clusterrole", "lister-jobs", "--verb=create,delete", "--resource=jobs.batch,cronjobs.batch")
        self.kubectl("create", "rolebinding", "lister-jobs", "-n", NS, "--clusterrole=lister-jobs",
                     "--serviceaccount=rb:lister")
        self.kubectl("apply", "-f", "-", input="""
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: lister-agg}
aggregationRule:
  clusterRoleSelectors:
  - matchLabels: {lister.example/aggregate: "true"}
rules: []
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: lister-agg-part, labels: {lister.example/aggregate: "true"}}
rules:
- apiGroups: [coordination.k8s.io]
  resources: [leases]
  verbs: [get, watch]
- nonResourceURLs: [/metrics]
  verbs: [get]
""")
        # the group every ServiceAccount of NS is in, cluster-wide
        self.kubectl("create", "clusterrolebinding", "lister-agg", "--clusterrole=lister-agg",
                     "--group=system:serviceaccounts:rb")
        self.ensure_namespace("rb-other")
        self.kubectl("create", "rolebinding", "lister-secrets", "-n", "rb-other", "--clusterrole=view",
                     "--serviceaccount=rb:lister")
        leases = ["leases.coordination.k8s.io", "[]", "[]", "[get watch]"]
        metrics = ["", "[/metrics]", "[]", "[get]"]
        self.assertEqual(self.can_i_list("-n", NS, token=tok), [
            ["cronjobs.batch", "[]", "[]", "[create delete]"], ["jobs.batch", "[]", "[]", "[create delete]"],
            ] + self.REVIEW_ROWS + [["configmaps", "[]", "[app]", "[get update]"],
                                    ["configmaps", "[]", "[web]", "[get update]"], leases]
            + self.DISCOVERY_ROWS[:6] + [metrics] + self.DISCOVERY_ROWS[6:])
        other = self.can_i_list("-n", "rb-other", token=tok)
        self.assertIn(["pods", "[]", "[]", "[get list watch]"], other)
        self.assertIn(leases, other)
        self.assertFalse(any("update" in r[3] or "create delete" in r[3] for r in other), other)

    def test_rules_review_body_errors_and_namespace(self):
        tok = self.sa("ruler")
        self.kubectl("create", "role", "ruler-sub", "-n", NS, "--verb=get", "--resource=deployments/scale",
                     "--resource-name=web")
        self.kubectl("create", "rolebinding", "ruler-sub", "-n", NS, "--role=ruler-sub", "--serviceaccount=rb:ruler")
        self.kubectl("create", "rolebinding", "ruler-gone", "-n", NS, "--role=gone-role", "--serviceaccount=rb:ruler")
        client = RawClient(self.dir, self.port, user="viewer", viewer_token=tok)
        try:
            path = "/apis/authorization.k8s.io/v1/selfsubjectrulesreviews"
            review = {"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectRulesReview",
                      "spec": {"namespace": NS}}
            s, _, body = client.request("POST", path, review)
            self.assertEqual(s, 201, body)
            self.assertEqual({k: body[k] for k in ("kind", "apiVersion", "spec")},
                             {"kind": "SelfSubjectRulesReview", "apiVersion": "authorization.k8s.io/v1", "spec": {}})
            st = body["status"]
            self.assertEqual(st["incomplete"], False)
            self.assertEqual(st["evaluationError"], 'role.rbac.authorization.k8s.io "gone-role" not found')
            self.assertIn({"verbs": ["get"], "apiGroups": ["apps"], "resources": ["deployments/scale"],
                           "resourceNames": ["web"]}, st["resourceRules"])
            self.assertIn({"verbs": ["create"], "apiGroups": ["authorization.k8s.io"],
                           "resources": ["selfsubjectaccessreviews", "selfsubjectrulesreviews"]}, st["resourceRules"])
            self.assertIn({"verbs": ["get"], "nonResourceURLs": ["/api", "/api/*", "/apis", "/apis/*", "/healthz",
                                                                 "/livez", "/openapi", "/openapi/*", "/readyz",
                                                                 "/version", "/version/"]}, st["nonResourceRules"])
            # in another namespace only the cluster-wide rules, and no error from this namespace's binding
            s, _, body = client.request("POST", path, dict(review, spec={"namespace": "default"}))
            self.assertEqual(s, 201, body)
            self.assertNotIn("evaluationError", body["status"])
            self.assertFalse(any("deployments/scale" in r.get("resources", []) for r in body["status"]["resourceRules"]))
            s, _, body = client.request("POST", path, dict(review, spec={}))
            self.assertEqual((s, body["reason"], body["message"]), (400, "BadRequest", "no namespace on request"))
            # kubectl prints no warning: the review is not incomplete, only the missing role is reported
            p = self.as_token(tok, "auth", "can-i", "--list", "-n", NS, check=True)
            self.assertEqual(p.stderr, "")
            self.assertIn("deployments.apps/scale", p.stdout)
        finally:
            client.close()

    def test_escalation_prevention_on_roles_and_bindings(self):
        tok = self.sa("granter")
        groups = '(groups=["system:serviceaccounts" "system:serviceaccounts:rb" "system:authenticated"])'
        self.kubectl("create", "role", "granter", "-n", NS, "--verb=get,list,create,update,patch",
                     "--resource=roles,rolebindings,configmaps")
        self.kubectl("create", "rolebinding", "granter", "-n", NS, "--role=granter", "--serviceaccount=rb:granter")
        self.kubectl("create", "clusterrole", "granter-crb", "--verb=create", "--resource=clusterrolebindings")
        self.kubectl("create", "clusterrolebinding", "granter-crb", "--clusterrole=granter-crb",
                     "--serviceaccount=rb:granter")
        self.kubectl("create", "clusterrole", "secret-admin", "--verb=*", "--resource=secrets")
        self.kubectl("create", "clusterrole", "cm-reader", "--verb=get,list", "--resource=configmaps")
        # rules the granter holds: allowed
        self.as_token(tok, "create", "role", "cm-get", "-n", NS, "--verb=get", "--resource=configmaps", check=True)
        self.as_token(tok, "create", "rolebinding", "cm-get", "-n", NS, "--role=cm-get", "--serviceaccount=rb:x",
                      check=True)
        self.as_token(tok, "create", "rolebinding", "cm-reader", "-n", NS, "--clusterrole=cm-reader",
                      "--serviceaccount=rb:x", check=True)
        # rules it does not hold: the real text, nothing created (dry run refused the same way)
        for extra in ((), ("--dry-run=server",)):
            p = self.as_token(tok, "create", "role", "sec", "-n", NS, "--verb=get,delete", "--resource=secrets,configmaps",
                              *extra)
            self.assertEqual(p.returncode, 1)
            self.assertIn('roles.rbac.authorization.k8s.io "sec" is forbidden: user "system:serviceaccount:rb:granter" '
                          f'{groups} is attempting to grant RBAC permissions not currently held:\n'
                          '{APIGroups:[""], Resources:["configmaps"], Verbs:["delete"]}\n'
                          '{APIGroups:[""], Resources:["secrets"], Verbs:["get" "delete"]}', p.stderr)
        self.assertIn("NotFound", self.kubectl("get", "role", "sec", "-n", NS, check=False).stderr)
        p = self.as_token(tok, "create", "rolebinding", "sec", "-n", NS, "--clusterrole=secret-admin",
                          "--serviceaccount=rb:x")
        self.assertIn('rolebindings.rbac.authorization.k8s.io "sec" is forbidden: user "system:serviceaccount:rb:'
                      'granter" ' + groups + ' is attempting to grant RBAC permissions not currently held:\n'
                      '{APIGroups:[""], Resources:["secrets"], Verbs:["*"]}', p.stderr)
        # held in NS only: a ClusterRoleBinding of the same rules is an escalation
        p = self.as_token(tok, "create", "clusterrolebinding", "cm-everywhere", "--clusterrole=cm-reader",
                          "--serviceaccount=rb:x")
        self.assertIn('clusterrolebindings.rbac.authorization.k8s.io "cm-everywhere" is forbidden: user', p.stderr)
        # updates: a patch adding a rule is refused, and so is a label on a role whose rules it lacks; what
        # the garbage collector touches (ownerReferences) is not checked
        p = self.as_token(tok, "patch", "role", "cm-get", "-n", NS, "--type=json",
                          "-p", '[{"op":"add","path":"/rules/-","value":{"apiGroups":[""],"resources":["secrets"],'
                                '"verbs":["list"]}}]')
        self.assertIn('roles.rbac.authorization.k8s.io "cm-get" is forbidden: user', p.stderr)
        self.kubectl("create", "role", "foreign", "-n", NS, "--verb=get", "--resource=secrets")
        p = self.as_token(tok, "label", "role", "foreign", "-n", NS, "team=a")
        self.assertIn('Verbs:["get"]}', p.stderr)
        self.kubectl("create", "configmap", "owner", "-n", NS)
        uid = self.kget("configmap", "owner", "-n", NS)["metadata"]["uid"]
        owner = {"metadata": {"ownerReferences": [{"apiVersion": "v1", "kind": "ConfigMap", "name": "owner",
                                                   "uid": uid}]}}
        self.as_token(tok, "patch", "role", "foreign", "-n", NS, "--type=merge", "-p", json.dumps(owner), check=True)
        self.assertEqual(self.kget("role", "foreign", "-n", NS)["metadata"]["ownerReferences"][0]["uid"], uid)
        self.assertNotIn("labels", self.kget("role", "foreign", "-n", NS)["metadata"])
        # `bind` on clusterroles named secret-admin (in NS) lets it bind that one role, there only
        self.kubectl("create", "role", "bind-secret-admin", "-n", NS, "--verb=bind", "--resource=clusterroles",
                     "--resource-name=secret-admin")
        self.kubectl("create", "rolebinding", "bind-secret-admin", "-n", NS, "--role=bind-secret-admin",
                     "--serviceaccount=rb:granter")
        self.as_token(tok, "create", "rolebinding", "sec", "-n", NS, "--clusterrole=secret-admin",
                      "--serviceaccount=rb:x", check=True)
        self.kubectl("create", "clusterrole", "secret-admin-2", "--verb=*", "--resource=secrets")
        self.assertIn("forbidden", self.as_token(tok, "create", "rolebinding", "sec2", "-n", NS,
                                                 "--clusterrole=secret-admin-2", "--serviceaccount=rb:x").stderr)
        # `escalate` on roles lets it write any rule
        self.kubectl("create", "role", "escalate", "-n", NS, "--verb=escalate", "--resource=roles")
        self.kubectl("create", "rolebinding", "escalate", "-n", NS, "--role=escalate", "--serviceaccount=rb:granter")
        self.as_token(tok, "create", "role", "sec", "-n", NS, "--verb=get,delete", "--resource=secrets,configmaps",
                      check=True)
        self.assertEqual(self.kget("role", "sec", "-n", NS)["rules"][0]["resources"], ["secrets", "configmaps"])
        # the client-certificate admin (system:masters) is never checked
        self.kubectl("create", "clusterrolebinding", "admin-grants", "--clusterrole=secret-admin-2",
                     "--serviceaccount=rb:x")

    def test_leases(self):
        lease = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                 "metadata": {"name": "lock", "namespace": NS},
                 "spec": {"holderIdentity": "a", "leaseDurationSeconds": 30,
                          "renewTime": "2026-01-01T00:00:00.000000Z", "acquireTime": "2026-01-01T00:00:00.000000Z"}}
        self.kubectl("create", "-f", "-", input=json.dumps(lease))
        got = self.kget("lease", "lock", "-n", NS)
        self.assertEqual(got["spec"]["holderIdentity"], "a")
        stale = dict(got, spec=dict(got["spec"], holderIdentity="b"))
        s, _, body = self.admin.request("PUT", f"/apis/coordination.k8s.io/v1/namespaces/{NS}/leases/lock", stale)
        self.assertEqual(s, 200, body)
        s, _, body = self.admin.request("PUT", f"/apis/coordination.k8s.io/v1/namespaces/{NS}/leases/lock",
                                        dict(stale, spec=dict(got["spec"], holderIdentity="c")))
        self.assertEqual((s, body["reason"]), (409, "Conflict"))
        self.assertEqual(self.kget("lease", "lock", "-n", NS)["spec"]["holderIdentity"], "b")


if __name__ == "__main__":
    unittest.main()
