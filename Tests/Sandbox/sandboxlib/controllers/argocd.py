"""A small Argo CD application controller: compares each Application's desired manifests with the
live objects and sets `status.sync.status` Synced / OutOfSync (Unknown with a ComparisonError
condition when the desired or live state cannot be loaded). It never syncs (applies) anything.

- Desired state: the YAML files of `spec.source.path`, a directory below the `git/` directory of a
  loaded fixture (`repoURL` and `targetRevision` are not read). Objects without a namespace get
  `spec.destination.namespace`.
- Live state: each object read in the manifest's apiVersion, through the same CRD conversion as
  the API server (a broken conversion webhook is a ComparisonError, as for real).
- Diff: `sandboxlib/argodiff.py` (three-way merge-patch prediction, `ignoreDifferences`).
- When: an Application is compared when it is created or changed, when an object it manages
  changes, when a CRD changes, and when it carries the `argocd.argoproj.io/refresh` annotation,
  which is removed after the comparison. The manifests on disk are re-read at every comparison
  (a real controller re-reads Git on a refresh or every 3 minutes).
"""
import glob
import logging
import os

import yaml

from .. import argodiff, conversion, resources
from .base import Controller, now_iso, set_status

log = logging.getLogger("sandbox.argocd")
REFRESH = "argocd.argoproj.io/refresh"


class ComparisonError(Exception):
    """Desired or live state could not be loaded; the message goes into the condition."""


class ArgoCDController(Controller):
    """See module doc. Keys are (namespace, name) of Applications."""

    name = "argocd"

    def __init__(self, store, ctx):
        super().__init__(store, ctx)
        self.managed: dict = {}   # app key -> set of (kind, namespace, name) it manages

    def keys_for(self, event, obj):
        kind = obj.get("kind")
        md = obj.get("metadata") or {}
        if kind == "Application":
            key = (md.get("namespace"), md.get("name"))
            if event == "DELETED":
                self.managed.pop(key, None)
                return []
            return [key]
        if kind == "CustomResourceDefinition":
            return self.all_keys()
        ref = (kind, md.get("namespace") or "", md.get("name"))
        return [k for k, objs in list(self.managed.items()) if ref in objs]

    def all_keys(self):
        return self.store.keys("Application")

    # -- desired state
    def _source_dir(self, path: str) -> str:
        if not path or os.path.isabs(path) or ".." in path.split("/"):
            raise ComparisonError(f"spec.source.path {path!r} must be a relative directory")
        for d in getattr(self.ctx, "fixture_dirs", []):
            cand = os.path.join(d, "git", path)
            if os.path.isdir(cand):
                return cand
        raise ComparisonError(f"Failed to load target state: app path does not exist: {path}")

    def _desired(self, app: dict) -> list:
        spec = app.get("spec") or {}
        src = spec.get("source") or {}
        dest_ns = (spec.get("destination") or {}).get("namespace")
        out = []
        directory = self._source_dir(src.get("path", ""))
        for path in sorted(glob.glob(os.path.join(directory, "*.yaml")) + glob.glob(os.path.join(directory, "*.yml"))):
            try:
                with open(path) as f:
                    docs = [d for d in yaml.safe_load_all(f) if d]
            except (OSError, yaml.YAMLError) as e:
                raise ComparisonError(f"Failed to load target state: {os.path.basename(path)}: {e}")
            for d in docs:
                t = resources.BY_KIND.get(d.get("kind")) if isinstance(d, dict) else None
                if t is None:
                    raise ComparisonError(f"Failed to load target state: {os.path.basename(path)}: unknown kind "
                                          f"{d.get('kind') if isinstance(d, dict) else d!r}")
                md = d.setdefault("metadata", {})
                if t.namespaced:
                    md.setdefault("namespace", dest_ns)
                else:
                    md.pop("namespace", None)
                out.append((t, d))
        return out

    # -- comparison
    def _compare(self, app: dict):
        """(sync status, resources, conditions, managed keys)."""
        try:
            desired = self._desired(app)
        except ComparisonError as e:
            return "Unknown", [], [str(e)], set()
        ignores = (app.get("spec") or {}).get("ignoreDifferences") or []
        rows, errors, managed = [], [], set()
        for t, d in desired:
            md = d["metadata"]
            ns = md.get("namespace") if t.namespaced else None
            managed.add((t.kind, ns or "", md.get("name")))
            version = conversion.version_of(d) or t.versions[0]
            row = {"group": t.group, "version": version, "kind": t.kind, "name": md.get("name")}
            if ns:
                row["namespace"] = ns
            live = self.store.get(t.kind, ns, md.get("name"))
            try:
                if live is None:
                    row["status"] = "OutOfSync"
                else:
                    live = conversion.read_as(self.store, t, live, version)
                    paths = argodiff.matching_ignores(ignores, t.group, t.kind, ns, md.get("name"))
                    row["status"] = "Synced" if argodiff.in_sync(d, live, paths) else "OutOfSync"
            except conversion.ConversionError as e:
                errors.append(f"Failed to load live state: {e.message}")
                row["status"] = "Unknown"
            except argodiff.IgnoreError as e:
                errors.append(f"Failed to compare desired state to live state: {e}")
                row["status"] = "Unknown"
            rows.append(row)
        if errors:
            return "Unknown", rows, errors, managed
        return ("Synced" if all(r["status"] == "Synced" for r in rows) else "OutOfSync"), rows, [], managed

    def reconcile(self, key, forced):
        ns, name = key
        app = self.store.get("Application", ns, name)
        if app is None:
            return
        sync, rows, errors, managed = self._compare(app)
        self.managed[key] = managed
        spec = app.get("spec") or {}
        refresh = REFRESH in ((app["metadata"].get("annotations")) or {})

        def upd(o):
            st = o["status"]
            want_sync = {"status": sync, "comparedTo": {"source": spec.get("source") or {},
                                                       "destination": spec.get("destination") or {}}}
            conds = [{"type": "ComparisonError", "message": m} for m in errors]
            old_conds = [{k: c.get(k) for k in ("type", "message")} for c in st.get("conditions") or []]
            if st.get("sync") == want_sync and st.get("resources") == rows and old_conds == conds and not refresh:
                return
            st["sync"] = want_sync
            st["resources"] = rows
            if conds:
                st["conditions"] = [dict(c, lastTransitionTime=now_iso()) for c in conds]
            else:
                st.pop("conditions", None)
            st["reconciledAt"] = now_iso()
        set_status(self.store, "Application", ns, name, upd)
        if refresh:
            self._drop_refresh(ns, name)

    def _drop_refresh(self, ns, name):
        """Remove the refresh annotation (a conflict means someone wrote in between: read again)."""
        for _ in range(5):
            app = self.store.get("Application", ns, name)
            ann = (app or {}).get("metadata", {}).get("annotations") or {}
            if app is None or REFRESH not in ann:
                return
            del ann[REFRESH]
            if not ann:
                app["metadata"].pop("annotations", None)
            try:
                self.store.update(app)
                return
            except Exception as e:  # noqa: BLE001 - retried on conflicts only
                if getattr(e, "code", None) != 409:
                    raise
