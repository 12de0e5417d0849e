"""The one import seam for the CDK framework: HashiCorp's `cdktf` (archived 2025-12-10) or
its maintained fork `cdktn` (the same Python API under another import name).

The constructs must live in the app's own framework: a cdktf resource cannot sit in a
cdktn stack. So the seam takes the framework the app already imported; with neither (or
both) imported, `cdktf` when it is installed, else `cdktn`. `EDGE_CONSTRUCTS_CDK=cdktf|cdktn`
forces one.
"""
from __future__ import annotations

import importlib
import os
import sys

from provisioners.core.errors import FrameworkMismatch, FrameworkNotFound

FRAMEWORKS = ("cdktf", "cdktn")
ENV = "EDGE_CONSTRUCTS_CDK"


def choose(environ=os.environ, loaded=sys.modules) -> str:
    """The framework the constructs use (see the module docstring)."""
    forced = environ.get(ENV)
    if forced:
        if forced not in FRAMEWORKS:
            raise FrameworkNotFound(f"{ENV}={forced!r}: must be one of {', '.join(FRAMEWORKS)}")
        return forced
    already = [f for f in FRAMEWORKS if f in loaded]
    if len(already) == 1:
        return already[0]
    for name in FRAMEWORKS:
        try:
            importlib.import_module(name)
            return name
        except ImportError:
            continue
    raise FrameworkNotFound("neither cdktf nor cdktn is installed: pip install edge-constructs "
                            "(cdktf) or edge-constructs[cdktn]")


NAME = choose()
framework = importlib.import_module(NAME)

App = framework.App
IStackSynthesizer = framework.IStackSynthesizer
FileProvisioner = framework.FileProvisioner
ITerraformDependable = framework.ITerraformDependable
LocalBackend = framework.LocalBackend
RemoteExecProvisioner = framework.RemoteExecProvisioner
SSHProvisionerConnection = framework.SSHProvisionerConnection
PgBackend = framework.PgBackend
TerraformDataSource = framework.TerraformDataSource
TerraformLocal = framework.TerraformLocal
TerraformOutput = framework.TerraformOutput
TerraformProvider = framework.TerraformProvider
TerraformProviderGeneratorMetadata = framework.TerraformProviderGeneratorMetadata
TerraformResource = framework.TerraformResource
TerraformStack = framework.TerraformStack
TerraformVariable = framework.TerraformVariable
Testing = framework.Testing


def stack_of(scope, what: str):
    """The TerraformStack of `scope`, or an error saying the app's framework differs (the
    frameworks would find each other's stacks, then fail at synth with a cryptic error)."""
    other = [f for f in FRAMEWORKS if f != NAME][0]
    advice = (f"{what}: no {NAME} stack holds this construct; is the app written with "
              f"{other}? Set {ENV}={other} (or import {other} before edge_constructs) so the "
              "constructs use the app's framework")
    try:
        stack = TerraformStack.of(scope)
    except Exception as e:  # jsii raises a plain error: say what it means here
        raise FrameworkMismatch(f"{advice} ({e})") from None
    if not isinstance(stack, TerraformStack):
        raise FrameworkMismatch(f"{advice} (its stack is a {type(stack).__module__}."
                                f"{type(stack).__qualname__})")
    return stack
