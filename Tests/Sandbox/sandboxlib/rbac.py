"""RBAC as the real API server evaluates it for token users (rbac.authorization.k8s.io/v1): Roles,
ClusterRoles (with aggregationRule), RoleBindings, ClusterRoleBindings; resourceNames, subresources,
`*` wildcards, nonResourceURLs. The sandbox's bootstrap roles and bindings, the 403 Forbidden
Status text and the answers of SelfSubjectAccessReview, SubjectAccessReview and
SelfSubjectRulesReview live here too, so that every caller (the API server, the escalation checks
of escalation.py, `k8s.can_i` tests) evaluates permissions from one resolver (`visit`).

Not done (listed in Tests/Sandbox/README.md): impersonation.
"""

from dataclasses import dataclass, field

RBAC_GROUP = "rbac.authorization.k8s.io"
AUTHENTICATED = "system:authenticated"
MASTERS = "system:masters"


class UserInfo(str):
    """An authenticated user: the str is the user name (so `user == "viewer"` keeps working);
    `groups` are its groups, `admin` marks a member of system:masters (all rights, as real)."""

    groups: tuple

    def __new__(cls, name: str, groups=()):
        u = super().__new__(cls, name)
        u.groups = tuple(groups) + ((AUTHENTICATED,) if AUTHENTICATED not in groups else ())
        return u

    @property
    def admin(self) -> bool:
        return MASTERS in self.groups


@dataclass
class Attributes:
    """What a request asks for (authorizer.Attributes)."""

    verb: str
    group: str = ""
    resource: str = ""
    subresource: str = ""
    namespace: str = ""
    name: str = ""
    path: str = ""                 # set for non-resource requests
    resource_request: bool = True


@dataclass
class Decision:
    allowed: bool
    reason: str = ""
    errors: list = field(default_factory=list)


# -- matching --------------------------------------------------------------------------------------

def _has(values, want: str) -> bool:
    values = values or []
    return "*" in values or want in values


def _resource_matches(rule: dict, resource: str, subresource: str) -> bool:
    combined = f"{resource}/{subresource}" if subresource else resource
    for r in rule.get("resources") or []:
        if r == "*" or r == combined:
            return True
        if subresource and r == "*/" + subresource:
            return True
    return False


def _url_matches(rule: dict, path: str) -> bool:
    for u in rule.get("nonResourceURLs") or []:
        if u == "*" or u == path or (u.endswith("*") and path.startswith(u[:-1])):
            return True
    return False


def rule_allows(rule: dict, a: Attributes) -> bool:
    """One PolicyRule against one request, as rbac.RuleAllows does."""
    if not _has(rule.get("verbs"), a.verb):
        return False
    if not a.resource_request:
        return _url_matches(rule, a.path)
    if not _has(rule.get("apiGroups"), a.group) or not _resource_matches(rule, a.resource, a.subresource):
        return False
    names = rule.get("resourceNames") or []
    return not names or a.name in names


def _selector_matches(sel: dict, labels: dict) -> bool:
    for k, v in (sel.get("matchLabels") or {}).items():
        if labels.get(k) != v:
            return False
    for e in sel.get("matchExpressions") or []:
        k, op, vals = e.get("key"), e.get("operator"), e.get("values") or []
        if op == "In" and labels.get(k) not in vals:
            return False
        if op == "NotIn" and k in labels and labels[k] in vals:
            return False
        if op == "Exists" and k not in labels:
            return False
        if op == "DoesNotExist" and k in labels:
            return False
    return True


def cluster_role_rules(store, role: dict) -> list:
    """A ClusterRole's rules; an aggregated one has those of every ClusterRole its selectors match
    (the real clusterrole-aggregation controller writes them into `rules`; the sandbox computes
    them when it evaluates)."""
    agg = role.get("aggregationRule")
    if not agg:
        return list(role.get("rules") or [])
    rules = []
    name = role["metadata"]["name"]
    for other in sorted(store.list("ClusterRole"), key=lambda o: o["metadata"]["name"]):
        if other["metadata"]["name"] == name or other.get("aggregationRule"):
            continue
        labels = other["metadata"].get("labels") or {}
        if any(_selector_matches(s, labels) for s in agg.get("clusterRoleSelectors") or []):
            rules.extend(r for r in other.get("rules") or [] if r not in rules)
    return rules


def _subject_applies(s: dict, user: UserInfo, binding_ns: str) -> bool:
    kind = s.get("kind")
    if kind == "User":
        return s.get("name") == str(user)
    if kind == "Group":
        return s.get("name") in user.groups
    if kind == "ServiceAccount":
        ns = s.get("namespace") or binding_ns
        return str(user) == f"system:serviceaccount:{ns}:{s.get('name')}"
    return False


def _describe_subject(s: dict, binding_ns: str) -> str:
    if s.get("kind") == "ServiceAccount":
        return f'ServiceAccount "{s.get("name")}/{s.get("namespace") or binding_ns}"'
    return f'{s.get("kind")} "{s.get("name")}"'


def role_ref_rules(store, ref: dict, ns: str):
    """(rules, error text) for a roleRef of a binding in `ns` ("" for a ClusterRoleBinding)."""
    kind, name = ref.get("kind"), ref.get("name")
    if kind == "ClusterRole":
        role = store.get("ClusterRole", None, name)
        if role is None:
            return None, f'clusterrole.{RBAC_GROUP} "{name}" not found'
        return cluster_role_rules(store, role), None
    if kind != "Role":
        return None, f'unsupported role reference kind: "{kind}"'
    role = store.get("Role", ns, name)
    if role is None:
        return None, f'role.{RBAC_GROUP} "{name}" not found'
    return list(role.get("rules") or []), None


def visit(store, user: UserInfo, namespace: str):
    """Every rule that applies to `user` in `namespace` (cluster-wide only when it is ""), in the
    order the real rule resolver visits them: ClusterRoleBindings, then the namespace's
    RoleBindings. Yields (binding, binding namespace, first matching subject, rule) — or
    (None, ns, None, error text) for a binding whose role cannot be resolved."""
    sources = [(b, "") for b in sorted(store.list("ClusterRoleBinding"), key=lambda o: o["metadata"]["name"])]
    if namespace:
        sources += [(b, namespace) for b in sorted(store.list("RoleBinding", namespace),
                                                   key=lambda o: o["metadata"]["name"])]
    for b, ns in sources:
        subjects = [s for s in b.get("subjects") or [] if _subject_applies(s, user, ns)]
        if not subjects:
            continue
        rules, err = role_ref_rules(store, b.get("roleRef") or {}, ns)
        if err:
            yield None, ns, None, err
            continue
        for r in rules:
            yield b, ns, subjects[0], r


def aggregate_errors(errors: list) -> str:
    """Errors joined as the real server's aggregate error prints them."""
    return errors[0] if len(errors) == 1 else "[" + ", ".join(errors) + "]"


def rules_for(store, user: UserInfo, namespace: str):
    """(rules, errors): every rule RBAC grants `user` in `namespace` and every role it could not
    resolve (the rules found still hold: RBAC is additive)."""
    rules, errors = [], []
    for b, _, _, r in visit(store, user, namespace):
        (errors if b is None else rules).append(r)
    return rules, errors


def authorize(store, user: UserInfo, a: Attributes) -> Decision:
    """The RBAC authorizer's decision for `user` (system:masters is allowed everything, as the real
    server's privileged-group authorizer does before RBAC is asked)."""
    if user.admin:
        return Decision(True, "")
    errors = []
    for b, ns, subject, r in visit(store, user, a.namespace):
        if b is None:
            errors.append(r)
        elif rule_allows(r, a):
            ref = b["roleRef"]
            bname = f'{b["metadata"]["name"]}/{ns}' if ns else b["metadata"]["name"]
            return Decision(True, f'RBAC: allowed by {"RoleBinding" if ns else "ClusterRoleBinding"} "{bname}" of '
                                  f'{ref.get("kind")} "{ref.get("name")}" to {_describe_subject(subject, ns)}')
    return Decision(False, "RBAC: " + aggregate_errors(errors) if errors else "", errors)


def forbidden_message(user: str, a: Attributes, plural_group: str | None = None) -> str:
    """The real server's Forbidden text: `secrets "x" is forbidden: User "u" cannot get resource
    "secrets" in API group "" in the namespace "ns"` (non-resource: `forbidden: User "u" cannot get
    path "/x"`)."""
    if not a.resource_request:
        return f'forbidden: User "{user}" cannot {a.verb} path "{a.path}"'
    gr = plural_group or (f"{a.resource}.{a.group}" if a.group else a.resource)
    who = f'{gr} "{a.name}"' if a.name else gr
    res = f"{a.resource}/{a.subresource}" if a.subresource else a.resource
    scope = f'in the namespace "{a.namespace}"' if a.namespace else "at the cluster scope"
    return f'{who} is forbidden: User "{user}" cannot {a.verb} resource "{res}" in API group "{a.group}" {scope}'


def forbidden_details(a: Attributes) -> dict:
    d = {}
    if a.name:
        d["name"] = a.name
    if a.group:
        d["group"] = a.group
    d["kind"] = a.resource
    return d


# -- access reviews --------------------------------------------------------------------------------

def attributes_of_review(spec: dict) -> Attributes:
    """Attributes from a (Self)SubjectAccessReview spec; raises ValueError when it has neither
    resourceAttributes nor nonResourceAttributes."""
    ra = spec.get("resourceAttributes")
    if ra is not None:
        return Attributes(verb=ra.get("verb") or "", group=ra.get("group") or "", resource=ra.get("resource") or "",
                          subresource=ra.get("subresource") or "", namespace=ra.get("namespace") or "",
                          name=ra.get("name") or "")
    nra = spec.get("nonResourceAttributes")
    if nra is not None:
        return Attributes(verb=nra.get("verb") or "", path=nra.get("path") or "", resource_request=False)
    raise ValueError("spec.resourceAttributes or spec.nonResourceAttributes is required")


def rules_review_status(store, user: UserInfo, namespace: str) -> dict:
    """A SelfSubjectRulesReview's status as the real server builds it: each rule that applies
    (unmerged, in resolver order) as a resourceRule when it names resources and as a
    nonResourceRule when it names URLs; `incomplete` stays false (RBAC enumerates everything it
    knows); roles that could not be resolved go into `evaluationError`."""
    rules, errors = rules_for(store, user, namespace)
    resource_rules, non_resource_rules = [], []
    for r in rules:
        if r.get("resources"):
            rr = {"verbs": list(r.get("verbs") or [])}
            for k in ("apiGroups", "resources", "resourceNames"):
                if r.get(k):
                    rr[k] = list(r[k])
            resource_rules.append(rr)
        if r.get("nonResourceURLs"):
            non_resource_rules.append({"verbs": list(r.get("verbs") or []),
                                       "nonResourceURLs": list(r["nonResourceURLs"])})
    st = {"resourceRules": resource_rules, "nonResourceRules": non_resource_rules, "incomplete": False}
    if errors:
        st["evaluationError"] = aggregate_errors(errors)
    return st


def review_status(store, user: UserInfo, a: Attributes) -> dict:
    d = authorize(store, user, a)
    st = {"allowed": d.allowed}
    if d.reason:
        st["reason"] = d.reason
    return st


# -- bootstrap policy ------------------------------------------------------------------------------

def _cr(name: str, rules: list, labels: dict | None = None, aggregation: list | None = None) -> dict:
    md = {"name": name, "labels": {"kubernetes.io/bootstrapping": "rbac-defaults"} | (labels or {}),
          "annotations": {"rbac.authorization.kubernetes.io/autoupdate": "true"}}
    o = {"apiVersion": f"{RBAC_GROUP}/v1", "kind": "ClusterRole", "metadata": md}
    if aggregation is not None:
        o["aggregationRule"] = {"clusterRoleSelectors": [{"matchLabels": m} for m in aggregation]}
    o["rules"] = rules
    return o


def _crb(name: str, role: str, subjects: list) -> dict:
    return {"apiVersion": f"{RBAC_GROUP}/v1", "kind": "ClusterRoleBinding",
            "metadata": {"name": name, "labels": {"kubernetes.io/bootstrapping": "rbac-defaults"},
                         "annotations": {"rbac.authorization.kubernetes.io/autoupdate": "true"}},
            "roleRef": {"apiGroup": RBAC_GROUP, "kind": "ClusterRole", "name": role}, "subjects": subjects}


_READ = ["get", "list", "watch"]
VIEWER_ROLE = "sandbox-viewer"


def bootstrap_objects(viewer: str) -> list:
    """The roles and bindings a fresh sandbox has: a subset of the real bootstrap policy
    (cluster-admin, system:discovery, system:basic-user, the aggregated `view`) plus a read-only
    ClusterRole for the `viewer` user."""
    grp = lambda g: {"apiGroup": RBAC_GROUP, "kind": "Group", "name": g}
    discovery_urls = ["/api", "/api/*", "/apis", "/apis/*", "/healthz", "/livez", "/openapi", "/openapi/*",
                      "/readyz", "/version", "/version/"]
    return [
        _cr("cluster-admin", [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]},
                              {"nonResourceURLs": ["*"], "verbs": ["*"]}]),
        _cr("system:discovery", [{"nonResourceURLs": discovery_urls, "verbs": ["get"]}]),
        _cr("system:basic-user", [{"apiGroups": ["authorization.k8s.io"],
                                   "resources": ["selfsubjectaccessreviews", "selfsubjectrulesreviews"],
                                   "verbs": ["create"]}]),
        _cr("view", [], aggregation=[{"rbac.authorization.k8s.io/aggregate-to-view": "true"}]),
        _cr("system:aggregate-to-view", [
            {"apiGroups": [""], "resources": ["configmaps", "endpoints", "persistentvolumeclaims", "pods", "pods/log",
                                               "services", "serviceaccounts", "events", "namespaces"], "verbs": _READ},
            {"apiGroups": ["apps"], "resources": ["deployments", "replicasets", "statefulsets",
                                                  "deployments/scale", "statefulsets/scale"], "verbs": _READ},
            {"apiGroups": ["batch"], "resources": ["cronjobs", "jobs"], "verbs": _READ}],
            labels={"rbac.authorization.k8s.io/aggregate-to-view": "true"}),
        _cr(VIEWER_ROLE, [{"apiGroups": ["*"], "resources": ["*"], "verbs": _READ},
                          {"nonResourceURLs": ["*"], "verbs": ["get"]}]),
        _crb("cluster-admin", "cluster-admin", [grp(MASTERS)]),
        _crb("system:discovery", "system:discovery", [grp(AUTHENTICATED)]),
        _crb("system:basic-user", "system:basic-user", [grp(AUTHENTICATED)]),
        _crb(VIEWER_ROLE, VIEWER_ROLE, [{"apiGroup": RBAC_GROUP, "kind": "User", "name": viewer}]),
    ]
