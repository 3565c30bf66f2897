"""Table output (`Accept: …as=Table`, what `kubectl get` asks for): a few columns per kind."""

import datetime


def age(ts: str | None) -> str:
    if not ts:
        return "<unknown>"
    try:
        then = datetime.datetime.strptime(ts, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc)
    except ValueError:
        return "<unknown>"
    s = int((datetime.datetime.now(datetime.timezone.utc) - then).total_seconds())
    if s < 120:
        return f"{max(s, 0)}s"
    if s < 7200:
        return f"{s // 60}m"
    if s < 172800:
        return f"{s // 3600}h"
    return f"{s // 86400}d"


def table(kind: str, items: list, rv: str) -> dict:
    cols, row = columns(kind)
    definitions = [{"name": "Name", "type": "string", "format": "name", "description": "Name", "priority": 0}]
    definitions += cols
    definitions.append({"name": "Age", "type": "string", "format": "", "description": "Age", "priority": 0})
    rows = []
    for o in items:
        meta = {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": o["metadata"]}
        rows.append({"cells": [o["metadata"]["name"]] + row(o) + [age(o["metadata"].get("creationTimestamp"))],
                     "object": meta})
    return {"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": {"resourceVersion": rv},
            "columnDefinitions": definitions, "rows": rows}


def columns(kind: str):
    """(column definitions, row function) for `kubectl get` tables."""
    def col(name, typ="string", fmt=""):
        return {"name": name, "type": typ, "format": fmt, "description": name, "priority": 0}

    st = lambda o: o.get("status") or {}
    sp = lambda o: o.get("spec") or {}
    if kind == "Pod":
        def row(o):
            cs = st(o).get("containerStatuses") or []
            ready = sum(1 for c in cs if c.get("ready"))
            total = len(sp(o).get("containers") or [])
            reason = st(o).get("reason") or st(o).get("phase", "Pending")
            for c in cs:
                state = c.get("state") or {}
                w = state.get("waiting") or state.get("terminated") or {}
                if w.get("reason"):
                    reason = w["reason"]
                elif "terminated" in state:
                    reason = f'ExitCode:{state["terminated"].get("exitCode", 0)}'
            if o["metadata"].get("deletionTimestamp"):
                reason = "Terminating"
            return [f"{ready}/{total}", reason, sum(c.get("restartCount", 0) for c in cs)]
        return [col("Ready"), col("Status"), col("Restarts", "integer")], row
    if kind == "ReplicaSet":
        return [col("Desired", "integer"), col("Current", "integer"), col("Ready", "integer")], lambda o: [
            sp(o).get("replicas", 1), st(o).get("replicas", 0), st(o).get("readyReplicas", 0)]
    if kind in ("Deployment", "StatefulSet"):
        def row(o):
            r = [f'{st(o).get("readyReplicas", 0)}/{sp(o).get("replicas", 1)}']
            if kind == "Deployment":
                r += [st(o).get("updatedReplicas", 0), st(o).get("availableReplicas", 0)]
            return r
        cols = [col("Ready")] + ([col("Up-to-date", "integer"), col("Available", "integer")] if kind == "Deployment" else [])
        return cols, row
    if kind == "Secret":
        return [col("Type"), col("Data", "integer")], lambda o: [o.get("type", "Opaque"), len(o.get("data") or {})]
    if kind == "ConfigMap":
        return [col("Data", "integer")], lambda o: [len(o.get("data") or {})]
    if kind == "Job":
        def row(o):
            conds = {c.get("type"): c.get("status") for c in st(o).get("conditions") or []}
            s = "Complete" if conds.get("Complete") == "True" else "Failed" if conds.get("Failed") == "True" else "Running"
            return [s, f'{st(o).get("succeeded", 0)}/{sp(o).get("completions", 1)}']
        return [col("Status"), col("Completions")], row
    if kind == "CronJob":
        return [col("Schedule"), col("Suspend", "boolean"), col("Active", "integer")], \
            lambda o: [sp(o).get("schedule", ""), sp(o).get("suspend", False), len(st(o).get("active") or [])]
    if kind == "Service":
        return [col("Type"), col("Cluster-IP"), col("Ports")], lambda o: [
            sp(o).get("type", "ClusterIP"), sp(o).get("clusterIP", "<none>"),
            ",".join(f'{p.get("port")}/{p.get("protocol", "TCP")}' for p in sp(o).get("ports") or []) or "<none>"]
    if kind == "PersistentVolumeClaim":
        return [col("Status"), col("Volume")], lambda o: [st(o).get("phase", "Pending"), sp(o).get("volumeName", "")]
    if kind == "Namespace":
        return [col("Status")], lambda o: [st(o).get("phase", "Active")]
    if kind in ("ExternalSecret", "ClusterSecretStore", "SecretStore"):
        def row(o):
            c = next((c for c in st(o).get("conditions") or [] if c.get("type") == "Ready"), {})
            lead = [(sp(o).get("secretStoreRef") or {}).get("name", ""), sp(o).get("refreshInterval", "")] \
                if kind == "ExternalSecret" else []
            return lead + [c.get("reason", ""), c.get("status", "")]
        lead = [col("Store"), col("Refresh Interval")] if kind == "ExternalSecret" else []
        return lead + [col("Status"), col("Ready")], row
    return [], lambda o: []
