"""Imported by the edge provider's process when benchmarks/plan_profile.py asks for it (it
edits the provider's launcher in a copy of a stack, never the package): times every gRPC
call (count, wall, the serving thread's CPU, longest) and writes them with the process's CPU
and peak memory to $EDGE_PROVIDER_TIMING-<pid>.json, every half second and at exit."""
from __future__ import annotations

import atexit
import json
import os
import resource
import threading
import time

from edge_constructs.terraform.provider import server

OUT = os.environ.get("EDGE_PROVIDER_TIMING", "/tmp/edge-provider-timing")
_stats: dict[str, list] = {}
_lock = threading.Lock()
_t0 = time.monotonic()


def dump() -> None:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    with _lock:
        doc = {"cpu_s": ru.ru_utime + ru.ru_stime, "maxrss_mib": ru.ru_maxrss / 1024,
               "alive_s": time.monotonic() - _t0,
               "rpcs": {k: dict(zip(("count", "wall_s", "cpu_s", "max_s", "first_s", "last_s"),
                                    v)) for k, v in _stats.items()}}
    with open(f"{OUT}-{os.getpid()}.json", "w") as f:
        json.dump(doc, f)


atexit.register(dump)
_original = server.make_servicer


def make_servicer(provider):
    servicer = _original(provider)
    last = [0.0]
    for rpc in server.RPCS:
        method = getattr(servicer, rpc)

        def timed(request, context, _m=method, _rpc=rpc):
            t, c = time.monotonic(), time.thread_time()
            try:
                return _m(request, context)
            finally:
                now = time.monotonic()
                with _lock:
                    s = _stats.setdefault(_rpc, [0, 0.0, 0.0, 0.0, t - _t0, 0.0])
                    s[0] += 1
                    s[1] += now - t
                    s[2] += time.thread_time() - c
                    s[3] = max(s[3], now - t)
                    s[5] = now - _t0
                if now - last[0] > 0.5:
                    last[0] = now
                    dump()
        setattr(servicer, rpc, timed)
    return servicer


server.make_servicer = make_servicer
