"""Fault injection shared by every part of the sandbox: the next N matching requests fail."""

import copy
import re
import threading

TARGETS = ("kube", "gcp", "job", "workload")
ACTIONS = ("500", "503", "429", "timeout", "reset", "slow", "fail")


class FaultError(ValueError):
    """A rule that is not well-formed."""


class FaultInjector:
    """Rules {"target", "method", "path" (regex, re.search), "count", "action", "delay", "after"}; thread-safe.
    Each rule also counts how often it `fired`; `count` is what is left. `history()` keeps the
    used-up rules too (until `clear()`), so a test can check that its faults fired.

    A rule with "after": true lets the request take effect (the write is committed) and then loses
    its response: the client gets the fault (a 5xx/429 status, a reset, a timeout) instead of the
    real answer, as when a connection breaks after the server acted. Supported by the API server
    ("kube") and the GCP emulator ("gcp")."""

    def __init__(self):
        self._lock = threading.Lock()
        self._rules: list = []
        self._history: list = []

    @staticmethod
    def validate(rule: dict) -> dict:
        if not isinstance(rule, dict):
            raise FaultError("a fault rule must be a JSON object")
        r = {"target": rule.get("target"), "method": rule.get("method"), "path": rule.get("path"),
             "count": rule.get("count", 1), "action": str(rule.get("action", "")), "delay": rule.get("delay"),
             "after": bool(rule.get("after", False)), "fired": 0}
        if r["target"] not in TARGETS:
            raise FaultError(f"target must be one of {', '.join(TARGETS)}, not {r['target']!r}")
        if r["action"] not in ACTIONS:
            raise FaultError(f"action must be one of {', '.join(ACTIONS)}, not {r['action']!r}")
        if not isinstance(r["count"], int) or r["count"] < 1:
            raise FaultError("count must be a positive integer")
        if r["after"] and (r["target"] not in ("kube", "gcp") or r["action"] in ("slow", "fail")):
            raise FaultError("after (lose the response after the commit) applies to targets kube and gcp and "
                             "actions 500, 503, 429, timeout, reset")
        if r["delay"] is not None and (not isinstance(r["delay"], (int, float)) or r["delay"] < 0):
            raise FaultError("delay must be a non-negative number of seconds")
        if r["method"] is not None:
            r["method"] = str(r["method"]).upper()
        if r["path"] is not None:
            try:
                re.compile(r["path"])
            except re.error as e:
                raise FaultError(f"path is not a valid regular expression: {e}") from None
        return r

    def add(self, rule: dict) -> None:
        r = self.validate(rule)
        with self._lock:
            self._rules.append(r)
            self._history.append(r)

    def take(self, target: str, method: str | None = None, path: str | None = None, after: bool = False) -> dict | None:
        """Consume one use of the first rule matching target, method, path and phase (before the
        request acts, or `after` it did); None when none matches."""
        with self._lock:
            for r in self._rules:
                if r["target"] != target or r.get("after", False) != after:
                    continue
                if r["method"] and method and r["method"] != method.upper():
                    continue
                if r["path"] and not re.search(r["path"], path or ""):
                    continue
                r["count"] -= 1
                r["fired"] += 1
                if r["count"] <= 0:
                    self._rules.remove(r)
                return copy.deepcopy(r)
        return None

    def armed(self, target: str) -> bool:
        """Whether any rule for `target` is active (could fire on its next request)."""
        with self._lock:
            return any(r["target"] == target for r in self._rules)

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()
            self._history.clear()

    def rules(self) -> list:
        with self._lock:
            return copy.deepcopy(self._rules)

    def history(self) -> list:
        """Every rule added since the last clear (used up or not), with `fired` and `count` left."""
        with self._lock:
            return copy.deepcopy(self._history)
