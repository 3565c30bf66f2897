"""Counts of the requests the sandbox's servers answered, by server and client (the first word of
the User-Agent: `runbook`, `kubectl`, `curl`, `sandbox-eso` (the ESO controller)…; `-` when there is
none). Written to `sandbox.json` as `"requests": {"kube": {"runbook": N, …}, "gcp": {…}}` for
benchmarks."""

import threading

_lock = threading.Lock()
_counts: dict = {}


def add(server: str, user_agent: str | None) -> None:
    client = (user_agent or "-").split("/")[0].split(" ")[0] or "-"
    with _lock:
        per = _counts.setdefault(server, {})
        per[client] = per.get(client, 0) + 1


def snapshot() -> dict:
    with _lock:
        return {k: dict(v) for k, v in _counts.items()}
