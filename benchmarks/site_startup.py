"""How long the simulated site takes to start and stop, and what it costs.

    sudo python3 benchmarks/site_startup.py [N ...]     (default: 1 10 50)

start    = Site.__enter__ until every host's sshd has sent its SSH banner
sshd RSS = sum of VmRSS of the sshd listeners (kB counted per process, shared pages
           counted once per process, so this over-states real memory)
init RSS = same for the hosts' PID-1 reapers (perl)
PSS      = proportional set size of sshds + inits together (shared pages split among
           the processes sharing them): the better estimate of what the site costs
stop     = Site.__exit__ (kill, reap, delete namespaces/links/bridge, remove workdir)
"""
from __future__ import annotations

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from simsite.site import Site  # noqa: E402


def _proc_kb(pid: int | None, name: str, field: str) -> int:
    """A "<field>: <n> kB" line of /proc/<pid>/<name>, 0 when the process is gone."""
    if not pid:
        return 0
    try:
        for line in Path(f"/proc/{pid}/{name}").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def rss_kb(pid: int | None) -> int:
    return _proc_kb(pid, "status", "VmRSS")


def pss_kb(pid: int | None) -> int:
    return _proc_kb(pid, "smaps_rollup", "Pss")


def measure(n: int) -> dict:
    site = Site(n=n)
    t0 = time.perf_counter()
    site.__enter__()
    t_start = time.perf_counter() - t0
    try:
        # every host answers a real command, so the figures are for usable hosts
        rc, out, _ = site.ssh(site.hosts[-1], "hostname")
        assert rc == 0 and out.strip() == site.hosts[-1].name
        sshd = sum(rss_kb(h.sshd_pid) for h in site.hosts)
        init = sum(rss_kb(site._states[h.name].init_pid) for h in site.hosts)
        pss = sum(pss_kb(h.sshd_pid) + pss_kb(site._states[h.name].init_pid) for h in site.hosts)
    finally:
        t1 = time.perf_counter()
        site.__exit__(None, None, None)
        t_stop = time.perf_counter() - t1
    return {"n": n, "start": t_start, "stop": t_stop, "sshd_kb": sshd, "init_kb": init, "pss_kb": pss}


def main(argv: list[str]) -> None:
    if os.geteuid() != 0:
        sys.exit("run as root")
    sizes = [int(a) for a in argv] or [1, 10, 50]
    rows = [measure(n) for n in sizes]
    head = (f"{'hosts':>5} | {'start s':>8} | {'ms/host':>8} | {'sshd RSS MB':>11} | "
            f"{'MB/host':>7} | {'init RSS MB':>11} | {'PSS MB':>7} | {'stop s':>7} | {'ms/host':>8}")
    print(head)
    print("-" * len(head))
    for r in rows:
        n = r["n"]
        print(f"{n:>5} | {r['start']:>8.2f} | {1000 * r['start'] / n:>8.1f} | "
              f"{r['sshd_kb'] / 1024:>11.1f} | {r['sshd_kb'] / 1024 / n:>7.2f} | "
              f"{r['init_kb'] / 1024:>11.1f} | {r['pss_kb'] / 1024:>7.1f} | {r['stop']:>7.2f} | {1000 * r['stop'] / n:>8.1f}")


if __name__ == "__main__":
    main(sys.argv[1:])
