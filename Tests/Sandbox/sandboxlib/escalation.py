"""RBAC escalation prevention, as the real API server's RBAC storage does it on writes of Roles,
ClusterRoles, RoleBindings and ClusterRoleBindings by anyone outside system:masters:

- a Role/ClusterRole may only hold rules the requester already holds (in the request's namespace;
  cluster-wide for a ClusterRole) unless RBAC grants the requester `escalate` on roles/clusterroles
  (with the request's name — none on a create); setting or dropping an `aggregationRule` needs
  `*` on everything;
- a RoleBinding/ClusterRoleBinding may only reference a role whose every rule the requester holds in
  the binding's namespace, unless RBAC grants `bind` on that role (resourceNames = the role's name);
- an update that only changes what the garbage collector touches (ownerReferences, finalizers) is
  not checked.

Refusals are the real 403 Forbidden with the real text: `roles.rbac.authorization.k8s.io "r" is
forbidden: user "u" (groups=["g1" "g2"]) is attempting to grant RBAC permissions not currently
held:` and the missing rules, one a line, broken down, compacted and sorted as the real server
prints them (`{APIGroups:[""], Resources:["secrets"], Verbs:["get" "list"]}`)."""

import copy
import json

from . import rbac
from .rbac import RBAC_GROUP, Attributes, UserInfo

ROLE_KINDS = {"Role": "roles", "ClusterRole": "clusterroles"}
BINDING_KINDS = {"RoleBinding": "rolebindings", "ClusterRoleBinding": "clusterrolebindings"}
FULL_AUTHORITY = [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}, {"nonResourceURLs": ["*"], "verbs": ["*"]}]
# what the garbage collector may change without a check (plus the server-owned fields, which a
# client's update echoes back or leaves out)
_GC_FIELDS = ("ownerReferences", "finalizers", "deletionTimestamp", "deletionGracePeriodSeconds", "selfLink",
              "resourceVersion", "managedFields", "uid", "creationTimestamp", "generation")
_FIELDS = ("apiGroups", "resources", "nonResourceURLs", "resourceNames", "verbs")


class EscalationError(Exception):
    """A write refused: 403 Forbidden with `message` (details: group, kind = the plural, name)."""

    def __init__(self, plural: str, name: str, reason: str):
        what = f'{plural}.{RBAC_GROUP} "{name}"' if name else f"{plural}.{RBAC_GROUP}"
        super().__init__(f"{what} is forbidden: {reason}")
        self.message = str(self)
        self.details = {"name": name, "group": RBAC_GROUP, "kind": plural} if name else \
            {"group": RBAC_GROUP, "kind": plural}


# -- rule arithmetic (policy comparator) -----------------------------------------------------------

def _strs(rule: dict, key: str) -> list:
    v = rule.get(key) if isinstance(rule, dict) else None
    return [x for x in v if isinstance(x, str)] if isinstance(v, list) else []


def _rules(obj) -> list:
    rules = obj.get("rules") if isinstance(obj, dict) else None
    return [r for r in rules if isinstance(r, dict)] if isinstance(rules, list) else []


def breakdown(rule: dict) -> list:
    """The rule as atoms of one group/resource/verb (and one resourceName when it names any), and
    one URL/verb for its nonResourceURLs."""
    names = _strs(rule, "resourceNames")
    out = []
    for g in _strs(rule, "apiGroups"):
        for r in _strs(rule, "resources"):
            for v in _strs(rule, "verbs"):
                base = {"apiGroups": [g], "resources": [r], "verbs": [v]}
                out += [base | {"resourceNames": [n]} for n in names] if names else [base]
    for u in _strs(rule, "nonResourceURLs"):
        out += [{"nonResourceURLs": [u], "verbs": [v]} for v in _strs(rule, "verbs")]
    return out


def _resources_cover(owned: list, wanted: list) -> bool:
    if "*" in owned or all(w in owned for w in wanted):
        return True
    for w in wanted:
        if w in owned:
            continue
        if "/" not in w or "*/" + w.split("/", 1)[1] not in owned:
            return False
    return True


def _url_covers(owner: str, path: str) -> bool:
    return owner == path or (owner.endswith("*") and path.startswith(owner.rstrip("*")))


def _covers(owner: dict, atom: dict) -> bool:
    """Whether one owner rule covers one atom of `breakdown`."""
    ov, og, on = _strs(owner, "verbs"), _strs(owner, "apiGroups"), _strs(owner, "resourceNames")
    if not ("*" in ov or all(v in ov for v in atom["verbs"])):
        return False
    if not ("*" in og or all(g in og for g in atom.get("apiGroups", []))):
        return False
    if not _resources_cover(_strs(owner, "resources"), atom.get("resources", [])):
        return False
    if not all(any(_url_covers(o, u) for o in _strs(owner, "nonResourceURLs")) for u in atom.get("nonResourceURLs", [])):
        return False
    names = atom.get("resourceNames", [])
    return not on or (bool(names) and all(n in on for n in names))


def missing_rules(owned: list, wanted: list) -> list:
    """The atoms of `wanted` that no rule of `owned` covers."""
    return [a for r in wanted for a in breakdown(r) if not any(_covers(o, a) for o in owned)]


def compact(rules: list) -> list:
    """Atoms of one group and resource (and at most one name) merged into one rule with all their
    verbs; every other rule as it is."""
    merged, out = {}, []
    for r in rules:
        names = r.get("resourceNames", [])
        simple = not r.get("nonResourceURLs") and len(names) <= 1 and len(r.get("apiGroups", [])) == 1 \
            and len(r.get("resources", [])) == 1
        if not simple:
            out.append(r)
            continue
        key = (r["apiGroups"][0], r["resources"][0], tuple(names))
        if key in merged:
            merged[key]["verbs"] = merged[key]["verbs"] + r["verbs"]
        else:
            merged[key] = copy.deepcopy(r)
    return out + list(merged.values())


def _go_quoted(values: list) -> str:
    return "[" + " ".join(json.dumps(v, ensure_ascii=False) for v in values) + "]"


def compact_string(rule: dict) -> str:
    """A rule as the real server prints it in escalation errors."""
    parts = [f"{label}:{_go_quoted(rule[k])}" for k, label in
             zip(_FIELDS, ("APIGroups", "Resources", "NonResourceURLs", "ResourceNames", "Verbs")) if rule.get(k)]
    return "{" + ", ".join(parts) + "}"


def confirm_no_escalation(store, user: UserInfo, namespace: str, wanted: list):
    """None when `user` holds every rule of `wanted` in `namespace`, else the refusal's text."""
    owned, errors = rbac.rules_for(store, user, namespace)
    missing = missing_rules(owned, wanted)
    if not missing:
        return None
    lines = sorted({compact_string(r) for r in compact(missing)})
    msg = (f'user {json.dumps(str(user))} (groups={_go_quoted(list(user.groups))}) is attempting to grant RBAC '
           f'permissions not currently held:\n' + "\n".join(lines))
    if errors:
        msg += f"; resolution errors: [{rbac.aggregate_errors(errors)}]"
    return msg


# -- the checks of the storage -------------------------------------------------------------------

def _only_gc_fields_change(new: dict, old: dict | None) -> bool:
    if old is None:
        return False
    a, b = copy.deepcopy(new), copy.deepcopy(old)
    for o in (a, b):
        md = o.setdefault("metadata", {})
        for k in _GC_FIELDS:
            md.pop(k, None)
    return a == b


def _allowed(store, user: UserInfo, a: Attributes) -> bool:
    return rbac.authorize(store, user, a).allowed


def check_write(store, user: UserInfo, kind: str, namespace: str, name: str, new: dict, old: dict | None = None):
    """Raises EscalationError unless `user` may write `new` (a create when `old` is None) of an RBAC
    `kind` in `namespace` ("" for cluster-scoped) under the name of the request (None on a create)."""
    if user.admin or (kind not in ROLE_KINDS and kind not in BINDING_KINDS):
        return
    if _only_gc_fields_change(new, old):
        return
    obj_name = ((new.get("metadata") or {}).get("name") or "") if isinstance(new, dict) else ""
    if kind in ROLE_KINDS:
        plural = ROLE_KINDS[kind]
        if _allowed(store, user, Attributes(verb="escalate", group=RBAC_GROUP, resource=plural,
                                            namespace=namespace, name=name or "")):
            return
        reason = confirm_no_escalation(store, user, namespace, _rules(new))
        if reason:
            raise EscalationError(plural, obj_name, reason)
        if kind == "ClusterRole" and (_aggregates(new) or _aggregates(old)) and \
                confirm_no_escalation(store, user, "", FULL_AUTHORITY):
            raise EscalationError(plural, obj_name, "must have cluster-admin privileges to use the aggregationRule")
        return
    plural = BINDING_KINDS[kind]
    ref = new.get("roleRef") if isinstance(new.get("roleRef"), dict) else {}
    ref_kind, ref_name = ref.get("kind"), ref.get("name") or ""
    if ref_kind in ROLE_KINDS and _allowed(store, user, Attributes(
            verb="bind", group=ref.get("apiGroup") or "", resource=ROLE_KINDS[ref_kind], namespace=namespace,
            name=ref_name)):
        return
    rules, err = rbac.role_ref_rules(store, ref, namespace)
    if err:
        raise EscalationError(plural, obj_name, err)
    reason = confirm_no_escalation(store, user, namespace, rules)
    if reason:
        raise EscalationError(plural, obj_name, reason)


def _aggregates(role: dict | None) -> bool:
    agg = role.get("aggregationRule") if isinstance(role, dict) else None
    return isinstance(agg, dict) and bool(agg.get("clusterRoleSelectors"))
