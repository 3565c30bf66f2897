"""Kubernetes label selectors: `a=b`, `a==b`, `a!=b`, `a in (x,y)`, `a notin (x)`, `a`, `!a`."""

import re

_KEY = r"[A-Za-z0-9]([-A-Za-z0-9_./]*[A-Za-z0-9])?"
_TERM = re.compile(
    r"\s*(?:(?P<not>!)\s*(?P<nkey>" + _KEY + r")"
    r"|(?P<key>" + _KEY + r")\s*(?:(?P<op>==|=|!=)\s*(?P<val>[A-Za-z0-9._-]*)"
    r"|\s+(?P<setop>in|notin)\s*\((?P<vals>[^)]*)\))?)\s*(?:,|$)")


class SelectorError(ValueError):
    """A selector string that cannot be parsed."""


class LabelSelector:
    """A parsed selector; `matches(labels)` tests a label map."""

    def __init__(self, reqs: list):
        self.reqs = reqs      # (key, op, values) with op in = != in notin exists !exists

    @classmethod
    def parse(cls, text: str) -> "LabelSelector":
        reqs = []
        pos = 0
        text = text.strip()
        while pos < len(text):
            m = _TERM.match(text, pos)
            if not m or m.end() == pos:
                raise SelectorError(f"unable to parse requirement: {text[pos:]!r}")
            pos = m.end()
            if m.group("nkey"):
                reqs.append((m.group("nkey"), "!exists", ()))
            elif m.group("op"):
                reqs.append((m.group("key"), "!=" if m.group("op") == "!=" else "=", (m.group("val"),)))
            elif m.group("setop"):
                vals = tuple(v.strip() for v in m.group("vals").split(",") if v.strip())
                reqs.append((m.group("key"), m.group("setop"), vals))
            else:
                reqs.append((m.group("key"), "exists", ()))
        return cls(reqs)

    @classmethod
    def from_label_selector(cls, sel: dict) -> "LabelSelector":
        """From a metav1.LabelSelector object ({matchLabels, matchExpressions})."""
        reqs = [(k, "=", (v,)) for k, v in (sel.get("matchLabels") or {}).items()]
        ops = {"In": "in", "NotIn": "notin", "Exists": "exists", "DoesNotExist": "!exists"}
        for e in sel.get("matchExpressions") or []:
            reqs.append((e["key"], ops[e["operator"]], tuple(e.get("values") or ())))
        return cls(reqs)

    def matches(self, labels: dict) -> bool:
        for key, op, vals in self.reqs:
            has = key in labels
            v = labels.get(key)
            if op == "=" and (not has or v != vals[0]):
                return False
            if op == "!=" and has and v == vals[0]:
                return False
            if op == "in" and (not has or v not in vals):
                return False
            if op == "notin" and has and v in vals:
                return False
            if op == "exists" and not has:
                return False
            if op == "!exists" and has:
                return False
        return True
