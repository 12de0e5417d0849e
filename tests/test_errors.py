"""One error root: every error class the package defines is an EdgeConstructsError, and what
callers catch as a builtin stays that builtin too."""
from __future__ import annotations

import inspect

from provisioners.core import errors
from provisioners.core.errors import EdgeConstructsError, SSHError, SSHFailure


def test_every_error_is_under_the_one_root():
    classes = [c for _, c in inspect.getmembers(errors, inspect.isclass)
               if issubclass(c, BaseException) and c.__module__ == errors.__name__]
    assert len(classes) >= 12
    assert all(issubclass(c, EdgeConstructsError) for c in classes)
    for name, builtin in (("ValidationError", ValueError), ("InventoryError", ValueError),
                          ("HostKeyError", ValueError), ("ScriptError", ValueError),
                          ("TerraformNotFound", RuntimeError), ("FrameworkNotFound", ImportError),
                          ("FrameworkMismatch", TypeError)):
        assert issubclass(getattr(errors, name), builtin), name


def test_an_ssh_error_kind_is_one_of_the_failures():
    assert SSHError("x").kind is SSHFailure.REACH
    e = SSHError("x", SSHFailure.HOST_KEY)
    assert e.kind == "host key" and f"{e.kind}" == "host key"
    try:
        SSHError("x", "network")
    except ValueError:
        pass
    else:
        raise AssertionError("a free string was taken as a kind")
