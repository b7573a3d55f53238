"""Run the test suite while busy loops saturate every core (`make test-under-load`, issue 17).

    python tests/stress_cpu.py [--busy N] [-- pytest arguments]

Starts N (default: the number of cores) Python busy loops at normal priority, runs `make test` with
PYTEST_ARGS set to the given arguments, stops the loops (by their own process ids) and prints the exit
status, the wall time and the busy loops' CPU seconds, so the run shows the cores really were busy.
Exits with the suite's status. A test that fails only here waits on time somewhere: make it wait on
its condition.
"""

from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

import psutil

BASE_DIR = Path(__file__).resolve().parent.parent

# Spins until its parent (this runner) is gone: a runner killed mid-suite leaves no loop behind.
BUSY_LOOP = "import os\nparent = os.getppid()\nwhile os.getppid() == parent:\n    pass\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--busy", type=int, default=os.cpu_count() or 2, help="busy loops to run (default: one per core)")
    parser.add_argument("pytest_args", nargs="*", help="passed to pytest through make's PYTEST_ARGS (after --)")
    options = parser.parse_args(argv)

    loops = [subprocess.Popen([sys.executable, "-c", BUSY_LOOP]) for _ in range(options.busy)]
    started = time.monotonic()
    try:
        env = dict(os.environ, PYTEST_ARGS=shlex.join(options.pytest_args))
        status = subprocess.run(["make", "test"], cwd=BASE_DIR, env=env).returncode
    finally:
        busy_cpu_s = 0.0
        for loop in loops:
            try:
                times = psutil.Process(loop.pid).cpu_times()
                busy_cpu_s += times.user + times.system
            except psutil.NoSuchProcess:  # it died on its own: report the rest
                pass
            loop.terminate()
        for loop in loops:
            loop.wait(timeout=30)
    wall_s = time.monotonic() - started
    print(
        f"make test under {options.busy} busy loop(s): exit {status}, wall {wall_s:.0f} s; "
        f"the loops used {busy_cpu_s:.0f} CPU-s ({busy_cpu_s / wall_s:.2f} cores on average)",
        flush=True,
    )
    return status


if __name__ == "__main__":
    sys.exit(main())
