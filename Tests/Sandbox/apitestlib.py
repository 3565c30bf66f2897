"""Kept for older imports: the harness is sandboxlib/harness.py."""

from sandboxlib.harness import HERE, KUBECTL, SANDBOX, RawClient, Sandbox, SandboxTestCase, sandbox  # noqa: F401
