"""An app's error, said once, in one line: a prop that is wrong ends `python main.py` with
`edge_constructs: <field>: got <value>; <what is allowed>`, not with a traceback.

Installed as `sys.excepthook` when the package is imported; it handles only the package's
own errors (`EdgeConstructsError`) and hands everything else, and everything under
EDGE_VERBOSE=1 (or a cdktf log level of debug/trace), to the hook it replaced (the full
traceback).

Under the cdktf CLI (`cdktf synth`/`deploy`, which sets CDKTF_CONTINUE_SYNTH_ON_ERROR_ANNOTATIONS)
anything the app prints on stderr is printed twice: once as it comes, once in the CLI's
"Command output on stderr". There the error becomes an error annotation of the construct
that raised it and the app synthesizes what it built so far; the CLI prints
`ERROR [<construct path>]: <message>` once and stops before Terraform runs.
"""
from __future__ import annotations

import os
import sys

from provisioners.core.errors import EdgeConstructsError

_CLI_ENV = "CDKTF_CONTINUE_SYNTH_ON_ERROR_ANNOTATIONS"
#: cdktf's context key that keeps the JavaScript stack trace out of an annotation.
_NO_STACK_TRACE = "@cdktf/disable_stack_trace_in_metadata"


def verbose() -> bool:
    return bool(os.environ.get("EDGE_VERBOSE")) or \
        os.environ.get("CDKTF_LOG_LEVEL", "").lower() in ("debug", "trace", "all")


def message(e: BaseException) -> str:
    return f"edge_constructs: {e}"


def _raising_construct(tb):
    """(scope, id) of the innermost constructor of this package on the traceback, if any."""
    from constructs import Construct
    found = None
    while tb is not None:
        frame = tb.tb_frame
        scope, cid = frame.f_locals.get("scope"), frame.f_locals.get("id")
        if (frame.f_code.co_name == "__init__" and isinstance(scope, Construct)
                and isinstance(cid, str)
                and frame.f_globals.get("__name__", "").startswith("edge_constructs.")):
            found = (scope, cid)
        tb = tb.tb_next
    return found


def _annotate_and_synth(e: BaseException, tb) -> bool:
    """Under the cdktf CLI: the error as an annotation, the app synthesized. True if done."""
    if not os.environ.get(_CLI_ENV) or "constructs" not in sys.modules:
        return False
    try:
        from cdktf import Annotations
        from constructs import Construct
        where = _raising_construct(tb)
        if where is None:
            return False
        scope, cid = where
        name = cid if scope.node.try_find_child(cid) is None else f"{cid} (error)"
        holder = Construct(scope, name)
        holder.node.set_context(_NO_STACK_TRACE, True)
        Annotations.of(holder).add_error(str(e))
        scope.node.root.synth()
        return True
    except Exception:  # noqa: BLE001 - the one-line message is printed instead
        return False


def _hook(previous):
    def hook(kind, e, tb):
        if not issubclass(kind, EdgeConstructsError) or verbose():
            return previous(kind, e, tb)
        if _annotate_and_synth(e, tb):
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(0)  # the CLI reads the annotation and fails the synth itself
        print(message(e), file=sys.stderr, flush=True)
    hook.edge_constructs = True
    return hook


def install() -> None:
    if not getattr(sys.excepthook, "edge_constructs", False):
        sys.excepthook = _hook(sys.excepthook)
