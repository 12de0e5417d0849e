"""The one error hierarchy of edge_constructs and provisioners: everything either package
raises on purpose is an `EdgeConstructsError`. Where callers catch `ValueError` (a prop or an
inventory that cannot be used), the error is a `ValueError` too."""
from __future__ import annotations

from enum import StrEnum


class EdgeConstructsError(Exception):
    """Base of every error this library raises on purpose."""


class ValidationError(EdgeConstructsError, ValueError):
    """A prop is wrong: names the field, the value received and what is allowed."""

    def __init__(self, field: str, value: object, allowed: str):
        self.field, self.value, self.allowed = field, value, allowed
        super().__init__(f"{field}: got {value!r}; {allowed}")


class CredentialsError(EdgeConstructsError):
    """The credentials directory or a user-supplied CA cannot be used."""


class InventoryError(EdgeConstructsError, ValueError):
    """An inventory (hosts as JSON) cannot be read: names where, what was found and what is
    allowed."""


class HostKeyError(EdgeConstructsError, ValueError):
    """`known_hosts_file` cannot give the host's key; `field` is the prop at fault."""

    def __init__(self, field: str, value: object, allowed: str):
        super().__init__(allowed)
        self.field, self.value, self.allowed = field, value, allowed


class KubeError(EdgeConstructsError):
    """A Kubernetes API call failed: the message names the call and the server's answer."""

    def __init__(self, message: str, status: int = 0, reason: str = ""):
        super().__init__(message)
        self.status, self.reason = status, reason


class TerraformNotFound(EdgeConstructsError, RuntimeError):
    """No usable Terraform: neither on PATH nor embedded."""


class FrameworkNotFound(EdgeConstructsError, ImportError):
    """Neither CDK framework (cdktf, cdktn) can be loaded, or the one forced is unknown."""


class FrameworkMismatch(EdgeConstructsError, TypeError):
    """A construct was put in a stack of the other CDK framework."""


class ScriptError(EdgeConstructsError, ValueError):
    """A value or name cannot reach a shell script as it is (a NUL, a bad variable name)."""


class SSHFailure(StrEnum):
    """Which check of a host failed (the value is what the check prints)."""
    REACH = "reach"                    # address, route, port, sshd
    AUTHENTICATION = "authentication"  # user, key, password
    HOST_KEY = "host key"              # the host offered another key than the one pinned
    SETUP = "setup"                    # the props cannot be used: a missing key file, an unset
    #                                    password variable


class SSHError(EdgeConstructsError):
    """A host could not be reached or logged into; the message says what to do, `kind`
    (an `SSHFailure`) which check failed."""

    def __init__(self, message: str, kind: SSHFailure = SSHFailure.REACH):
        self.kind = SSHFailure(kind)
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
