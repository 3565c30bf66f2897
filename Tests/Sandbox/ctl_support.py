"""Kept for older imports: the harness is sandboxlib/harness.py (SandboxCase = SandboxTestCase)."""

from sandboxlib.harness import HERE, KUBECTL, SANDBOX, RawClient, Sandbox, SandboxTestCase, sandbox  # noqa: F401

SandboxCase = SandboxTestCase
