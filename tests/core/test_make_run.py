"""`make run` (lakehouse.run) as a real process on its own embedded servers: a killed Celery worker
is restarted, and SIGTERM — twice — stops every process it started, PostgreSQL and Redis included."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
from django.conf import settings

BASE_DIR = Path(settings.BASE_DIR)


class Output:
    """Collects a process's output lines in a thread (so the process never blocks on a full pipe)."""

    def __init__(self, stream) -> None:
        self.lines: list[str] = []
        self._changed = threading.Condition()
        self._thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._thread.start()

    def _read(self, stream) -> None:
        for line in stream:
            with self._changed:
                self.lines.append(line.rstrip("\n"))
                self._changed.notify_all()

    def wait_for(self, pattern: str, timeout_s: float = 120.0) -> re.Match:
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout_s
        with self._changed:
            while True:
                for line in self.lines:
                    if match := regex.search(line):
                        return match
                remaining = deadline - time.monotonic()
                assert remaining > 0, f"no line matching {pattern!r} in:\n" + "\n".join(self.lines[-60:])
                self._changed.wait(remaining)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _stack_processes(run: subprocess.Popen, var_dir: Path) -> list[psutil.Process]:
    """Every process of the stack: the supervisor's descendants, and the embedded servers (daemons)."""
    processes = []
    for parent in (
        lambda: psutil.Process(run.pid),
        lambda: psutil.Process(int((var_dir / "pgdata" / "postmaster.pid").read_text().split()[0])),
        lambda: psutil.Process(int((var_dir / "redis" / "redis.pid").read_text())),
    ):
        try:
            process = parent()
            processes += [process, *process.children(recursive=True)]
        except (OSError, ValueError, psutil.Error):
            pass
    return processes


def _command_line(process: psutil.Process) -> str:
    try:
        return " ".join(process.cmdline())
    except psutil.Error:
        return ""


def test_make_run_restarts_a_killed_celery_worker_and_sigterm_stops_everything(own_var_dir):
    var_dir = own_var_dir
    dropped = ("DATABASE_URL", "REDIS_URL", "XDG_RUNTIME_DIR", "PYTEST_VERSION", "REDIS_DB", "LAKEHOUSE_TEST_RUN")
    env = {k: v for k, v in os.environ.items() if k not in dropped}
    env.update(
        LAKEHOUSE_VAR_DIR=str(var_dir), PORT=str(_free_port()), WORKERS="0", WEB_WORKERS="1", WEB_THREADS="2",
        ADMIN_PASSWORD="not-the-point", PG_SHARED_BUFFERS="128MB", PYTHONUNBUFFERED="1",
    )
    run = subprocess.Popen(
        [sys.executable, "-m", "lakehouse.run"], cwd=BASE_DIR, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    output = Output(run.stdout)
    stack: list[psutil.Process] = []
    try:
        worker_pid = int(output.wait_for(r"started celery worker \(pid (\d+)\)").group(1))
        output.wait_for(r"started celery beat \(pid \d+\)")
        output.wait_for(r"Lakehouse is running")

        orphans = psutil.Process(worker_pid).children(recursive=True)  # its pool, if it has forked it yet
        os.kill(worker_pid, signal.SIGKILL)
        output.wait_for(rf"celery worker \(pid {worker_pid}\) killed by SIGKILL; restarting in 1 s")
        new_pid = int(output.wait_for(r"restarted celery worker \(pid (\d+), restart #1\)").group(1))
        assert new_pid != worker_pid
        assert psutil.Process(new_pid).ppid() == run.pid

        stack = [*orphans, *_stack_processes(run, var_dir)]
        names = " ".join(_command_line(p) for p in stack)
        for expected in ("gunicorn", "celery -A lakehouse beat", "bin/postgres", "redis-server"):
            assert expected in names, names

        run.send_signal(signal.SIGTERM)
        output.wait_for(r"SIGTERM received: stopping")
        if run.poll() is None:  # the second signal lands during the shutdown: it must not cut it short
            run.send_signal(signal.SIGTERM)
            output.wait_for(r"SIGTERM received while stopping")
        assert run.wait(timeout=120) == 0
        output.wait_for(r"embedded postgres stopped")
        output.wait_for(r"embedded redis stopped")
        _, alive = psutil.wait_procs([p for p in stack if p.pid != run.pid], timeout=30)
        assert alive == [], [(p.pid, _command_line(p)) for p in alive]
    finally:
        # Whatever failed, leave nothing running: the stack as it is now, and as it was seen.
        leftovers = [*stack, *_stack_processes(run, var_dir)]
        for process in leftovers:
            try:
                process.kill()
            except psutil.Error:
                pass
        run.wait(timeout=30)
        print("\n".join(output.lines))  # shown when the test fails
