"""CPU % (of all cores × 100) per part of the stack over an interval, from /proc: web server, Celery,
PostgreSQL, Redis, the load generator, the rest; plus the machine's idle and steal time.

    python -m benchmarks.cpu_split 40

Used by `multitier_ab.sh` while a multitier run is under way (issue 18): it tells a run that was
slow because PostgreSQL was busy from one where the web process was, or the host took the CPU.
"""

from __future__ import annotations

import collections
import os
import sys
import time

PARTS = ("granian", "gunicorn", "multitier", "celery", "redis", "postgres", "pytest", "chromium", "lakehouse.run")


def processes() -> dict[int, tuple[int, str]]:
    """pid → (user + system ticks, command line) of every process readable now."""
    out = {}
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            stat = open(f"/proc/{pid}/stat").read()
            cmdline = open(f"/proc/{pid}/cmdline", "rb").read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        out[int(pid)] = (int(fields[11]) + int(fields[12]), cmdline)
    return out


def part(cmdline: str) -> str:
    return next((name for name in PARTS if name in cmdline), "other")


def machine_ticks() -> list[int]:
    with open("/proc/stat") as handle:
        return [int(x) for x in handle.readline().split()[1:]]


def main(seconds: float) -> None:
    before_machine, before = machine_ticks(), processes()
    started = time.monotonic()
    time.sleep(seconds)
    after, after_machine = processes(), machine_ticks()
    elapsed = time.monotonic() - started
    hz = os.sysconf("SC_CLK_TCK")
    usage: collections.Counter[str] = collections.Counter()
    for pid, (ticks, cmdline) in after.items():
        usage[part(cmdline)] += ticks - before.get(pid, (0, ""))[0]
    for name, ticks in usage.most_common():
        print(f"{name:15s} {100 * ticks / hz / elapsed:6.1f} %")
    idle, steal = (after_machine[i] - before_machine[i] for i in (3, 7))
    print(f"machine idle {100 * idle / hz / elapsed:.1f} %, steal {100 * steal / hz / elapsed:.1f} %")


if __name__ == "__main__":
    main(float(sys.argv[1]) if len(sys.argv) > 1 else 40.0)
