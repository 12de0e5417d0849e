"""The small error hierarchy of edge_constructs."""
from __future__ import annotations


class EdgeConstructsError(Exception):
    """Base of every error this library raises on purpose."""


class ValidationError(EdgeConstructsError, ValueError):
    """A prop is wrong: names the field, the value received and what is allowed."""

    def __init__(self, field: str, value: object, allowed: str):
        self.field, self.value, self.allowed = field, value, allowed
        super().__init__(f"{field}: got {value!r}; {allowed}")


class CredentialsError(EdgeConstructsError):
    """The credentials directory or a user-supplied CA cannot be used."""


class SSHError(EdgeConstructsError):
    """A host could not be reached or logged into; the message says what to do.

    `kind` says which check failed: "reach" (address, route, port, sshd), "authentication"
    (user, key, password), "host key" (the host offered another key than the one pinned),
    or "setup" (the props cannot be used: a missing key file, an unset password variable)."""

    KINDS = ("reach", "authentication", "host key", "setup")

    def __init__(self, message: str, kind: str = "reach"):
        self.kind = kind
        super().__init__(message)


class StepFailed(EdgeConstructsError):
    """A step's script failed on a host."""

    def __init__(self, host: str, step: str, command: str, exit_code: int, output_tail: str):
        self.host, self.step, self.command = host, step, command
        self.exit_code, self.output_tail = exit_code, output_tail
        tail = "\n".join("    " + line for line in output_tail.splitlines())
        super().__init__(
            f"step {step} failed on host {host}: command {command!r} exited {exit_code}"
            + (f"\n  last lines of output:\n{tail}" if tail else ""))
