"""How the sandbox's Argo CD controller decides whether a live object matches its desired manifest.

Argo CD's default diff is a three-way diff: it predicts what applying the desired manifest would
make of the live object and compares that with the live object. For custom resources (no
strategic merge) applying is a JSON merge patch: maps merge (fields that others added to a map
stay), lists are replaced whole (a default that the API server added inside a list item is lost,
so it shows as drift). The sandbox does exactly that, without the "fields removed from the
last-applied configuration" part. Before comparing, both sides lose server-set metadata and
`status`, and the fields named by matching `ignoreDifferences` entries (`jsonPointers`, and
`jqPathExpressions` written as `.a.b`, `.a[]`, `.a[0]`, `.["a"]` chains).
"""

import copy
import re

from .patches import merge_patch

SERVER_METADATA = ("uid", "resourceVersion", "generation", "creationTimestamp", "managedFields", "selfLink",
                   "deletionTimestamp", "deletionGracePeriodSeconds", "ownerReferences")
IGNORED_ANNOTATIONS = ("kubectl.kubernetes.io/last-applied-configuration", "argocd.argoproj.io/tracking-id")


class IgnoreError(Exception):
    """An ignoreDifferences entry the sandbox cannot evaluate (reported as a ComparisonError)."""


def _strip(obj: dict) -> dict:
    o = copy.deepcopy(obj)
    o.pop("status", None)
    md = o.get("metadata") or {}
    for k in SERVER_METADATA:
        md.pop(k, None)
    ann = md.get("annotations") or {}
    for k in IGNORED_ANNOTATIONS:
        ann.pop(k, None)
    if "annotations" in md and not ann:
        md.pop("annotations")
    if "labels" in md and not md["labels"]:
        md.pop("labels")
    return o


_JQ_TOKEN = re.compile(r'\.([A-Za-z_][A-Za-z0-9_-]*)|\[\]|\[(\d+)\]|\.?\["((?:[^"\\]|\\.)*)"\]')


def jq_path(expr: str) -> list:
    """`.spec.data[].remoteRef.key` → ["spec", "data", None, "remoteRef", "key"] (None = every item)."""
    text = expr.strip()
    out, pos = [], 0
    while pos < len(text):
        m = _JQ_TOKEN.match(text, pos)
        if not m:
            raise IgnoreError(f"jqPathExpression {expr!r}: the sandbox understands only paths of .field, "
                              f"[], [N] and [\"field\"] (at {text[pos:]!r})")
        if m.group(1) is not None:
            out.append(m.group(1))
        elif m.group(2) is not None:
            out.append(int(m.group(2)))
        elif m.group(3) is not None:
            out.append(m.group(3).replace('\\"', '"'))
        else:
            out.append(None)
        pos = m.end()
    if not out:
        raise IgnoreError(f"jqPathExpression {expr!r} names no field")
    return out


def pointer_path(pointer: str) -> list:
    """RFC 6901 `/spec/data/0/key` → ["spec", "data", 0, "key"] (numbers index lists)."""
    if not pointer.startswith("/"):
        raise IgnoreError(f"jsonPointer {pointer!r} must start with '/'")
    return [t.replace("~1", "/").replace("~0", "~") for t in pointer[1:].split("/")]


def remove(doc, path: list) -> None:
    """Remove what `path` names from doc in place (missing parts are fine)."""
    if not path:
        return
    head, rest = path[0], path[1:]
    if isinstance(doc, dict):
        if head is None or isinstance(head, int):
            return
        if not rest:
            doc.pop(head, None)
        elif head in doc:
            remove(doc[head], rest)
    elif isinstance(doc, list):
        if head is None:
            idx = range(len(doc))
        else:
            try:
                i = int(head)
            except (TypeError, ValueError):
                return
            idx = [i] if 0 <= i < len(doc) else []
        if not rest:
            for i in sorted(idx, reverse=True):
                del doc[i]
        else:
            for i in idx:
                remove(doc[i], rest)


def matching_ignores(ignores: list, group: str, kind: str, namespace: str | None, name: str) -> list:
    """The paths of the ignoreDifferences entries that apply to one object."""
    paths = []
    for e in ignores or []:
        if not isinstance(e, dict):
            continue
        if (e.get("group") or "") != group or e.get("kind") != kind:
            continue
        if e.get("name") and e["name"] != name:
            continue
        if e.get("namespace") and e["namespace"] != (namespace or ""):
            continue
        paths += [pointer_path(p) for p in e.get("jsonPointers") or []]
        paths += [jq_path(x) for x in e.get("jqPathExpressions") or []]
    return paths


def in_sync(desired: dict, live: dict, ignore_paths: list) -> bool:
    """True when applying `desired` (JSON merge patch) would leave `live` as it is, outside the
    ignored paths, server-set metadata and status."""
    live_n = _strip(live)
    predicted = _strip(merge_patch(live_n, _strip(desired)))
    for p in ignore_paths:
        remove(live_n, p)
        remove(predicted, p)
    return predicted == live_n
