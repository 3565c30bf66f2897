"""The table of resource types the sandbox API server serves (kind, group, versions, plural, scope)."""

from dataclasses import dataclass, field


@dataclass(frozen=True)
class ResourceType:
    """One resource type: how it is named in URLs, discovery and objects."""

    kind: str
    group: str
    versions: tuple
    plural: str
    namespaced: bool
    short_names: tuple = ()
    subresources: tuple = ("status",)
    categories: tuple = ()
    generation: bool = True        # whether metadata.generation is maintained
    builtin: bool = True           # built-in types support strategic merge patch

    @property
    def singular(self) -> str:
        return self.kind.lower()

    @property
    def group_resource(self) -> str:
        """`deployments.apps`, `secrets` — the form used in error messages."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    @property
    def has_status(self) -> bool:
        return "status" in self.subresources

    def api_version(self, version: str | None = None) -> str:
        v = version or self.versions[0]
        return f"{self.group}/{v}" if self.group else v


_ALL = ("all",)

TYPES = [
    ResourceType("Namespace", "", ("v1",), "namespaces", False, ("ns",), ("status", "finalize"), generation=False),
    ResourceType("Secret", "", ("v1",), "secrets", True, (), (), generation=False),
    ResourceType("ConfigMap", "", ("v1",), "configmaps", True, ("cm",), (), generation=False),
    ResourceType("Service", "", ("v1",), "services", True, ("svc",), ("status", "proxy"), _ALL, generation=False),
    ResourceType("PersistentVolumeClaim", "", ("v1",), "persistentvolumeclaims", True, ("pvc",), ("status",), generation=False),
    ResourceType("Pod", "", ("v1",), "pods", True, ("po",), ("status", "log"), _ALL, generation=False),
    ResourceType("Event", "", ("v1",), "events", True, ("ev",), (), generation=False),
    ResourceType("Deployment", "apps", ("v1",), "deployments", True, ("deploy",), ("status", "scale"), _ALL),
    ResourceType("ReplicaSet", "apps", ("v1",), "replicasets", True, ("rs",), ("status", "scale"), _ALL),
    ResourceType("StatefulSet", "apps", ("v1",), "statefulsets", True, ("sts",), ("status", "scale"), _ALL),
    ResourceType("Job", "batch", ("v1",), "jobs", True, (), ("status",), _ALL),
    ResourceType("CronJob", "batch", ("v1",), "cronjobs", True, ("cj",), ("status",), _ALL),
    ResourceType("CustomResourceDefinition", "apiextensions.k8s.io", ("v1",), "customresourcedefinitions", False,
                 ("crd", "crds"), ("status",)),
    ResourceType("ExternalSecret", "external-secrets.io", ("v1", "v1beta1"), "externalsecrets", True, ("es",),
                 ("status",), ("external-secrets",), builtin=False),
    ResourceType("SecretStore", "external-secrets.io", ("v1", "v1beta1"), "secretstores", True, ("ss",),
                 ("status",), ("external-secrets",), builtin=False),
    ResourceType("ClusterSecretStore", "external-secrets.io", ("v1", "v1beta1"), "clustersecretstores", False,
                 ("css",), ("status",), ("external-secrets",), builtin=False),
    ResourceType("SealedSecret", "bitnami.com", ("v1alpha1",), "sealedsecrets", True, (), ("status",), builtin=False),
    ResourceType("ServiceMonitor", "monitoring.coreos.com", ("v1",), "servicemonitors", True, ("smon",), (),
                 ("prometheus-operator",), builtin=False),
    ResourceType("ServiceAccount", "", ("v1",), "serviceaccounts", True, ("sa",), ("token",), generation=False),
    ResourceType("Role", "rbac.authorization.k8s.io", ("v1",), "roles", True, (), (), generation=False),
    ResourceType("ClusterRole", "rbac.authorization.k8s.io", ("v1",), "clusterroles", False, (), (), generation=False),
    ResourceType("RoleBinding", "rbac.authorization.k8s.io", ("v1",), "rolebindings", True, (), (), generation=False),
    ResourceType("ClusterRoleBinding", "rbac.authorization.k8s.io", ("v1",), "clusterrolebindings", False, (), (),
                 generation=False),
    ResourceType("Lease", "coordination.k8s.io", ("v1",), "leases", True, (), (), generation=False),
    ResourceType("Application", "argoproj.io", ("v1alpha1",), "applications", True, ("app", "apps"), (),
                 builtin=False),
]

BY_KIND = {t.kind: t for t in TYPES}


def by_plural(group: str, version: str, plural: str) -> ResourceType | None:
    """The type served at /api(s)/GROUP/VERSION/PLURAL, or None."""
    for t in TYPES:
        if t.group == group and version in t.versions and t.plural == plural:
            return t
    return None


def groups() -> dict:
    """group name → list of versions (preferred first), in a stable order; "" is the core group."""
    out: dict = {}
    for t in TYPES:
        vs = out.setdefault(t.group, [])
        for v in t.versions:
            if v not in vs:
                vs.append(v)
    return out


def crd_name(t: ResourceType) -> str:
    return f"{t.plural}.{t.group}"


def crd_object(t: ResourceType) -> dict:
    """The CustomResourceDefinition an installed operator would have created for t (first version stored)."""
    versions = []
    for n, v in enumerate(t.versions):
        ver = {"name": v, "served": True, "storage": n == 0,
               "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}}}
        if t.has_status:
            ver["subresources"] = {"status": {}}
        versions.append(ver)
    names = {"kind": t.kind, "listKind": f"{t.kind}List", "plural": t.plural, "singular": t.singular}
    if t.short_names:
        names["shortNames"] = list(t.short_names)
    if t.categories:
        names["categories"] = list(t.categories)
    return {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": crd_name(t)},
            "spec": {"group": t.group, "names": names, "scope": "Namespaced" if t.namespaced else "Cluster",
                     "versions": versions, "conversion": {"strategy": "None"}},
            "status": {"acceptedNames": names, "storedVersions": [t.versions[0]],
                       "conditions": [{"type": "NamesAccepted", "status": "True", "reason": "NoConflicts",
                                       "message": "no conflicts found"},
                                      {"type": "Established", "status": "True", "reason": "InitialNamesAccepted",
                                       "message": "the initial names have been accepted"}]}}
