"""`make run` (lakehouse.run) as a real process on its own embedded servers: a killed Celery worker
is restarted, and SIGTERM — twice — stops every process it started, PostgreSQL and Redis included;
with WEB_SERVER=granian it serves the API and static files, and a killed granian leaves no worker."""

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

import httpx
import psutil
import pytest
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


def _start_make_run(var_dir: Path, **env_vars: str) -> subprocess.Popen:
    """`python -m lakehouse.run` on its own embedded servers in var_dir, no demo corpus, a small web server."""
    dropped = ("DATABASE_URL", "REDIS_URL", "XDG_RUNTIME_DIR", "PYTEST_VERSION", "REDIS_DB", "LAKEHOUSE_TEST_RUN", "WEB_SERVER")
    env = {k: v for k, v in os.environ.items() if k not in dropped}
    env.update(
        LAKEHOUSE_VAR_DIR=str(var_dir), PORT=str(_free_port()), WORKERS="0", WEB_WORKERS="1", WEB_THREADS="2",
        ADMIN_PASSWORD="not-the-point", PG_SHARED_BUFFERS="128MB", PYTHONUNBUFFERED="1",
    )
    env.update(env_vars)
    return subprocess.Popen(
        [sys.executable, "-m", "lakehouse.run"], cwd=BASE_DIR, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )


def _stop_with_two_sigterms(run: subprocess.Popen, output: Output, stack: list[psutil.Process]) -> None:
    """SIGTERM, and again during the shutdown: exit 0, the embedded servers stopped, nothing of `stack` left."""
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


def _leave_nothing_running(run: subprocess.Popen, output: Output, var_dir: Path, seen: list[psutil.Process]) -> None:
    """Whatever failed: kill the stack as it is now, and as it was seen."""
    for process in [*seen, *_stack_processes(run, var_dir)]:
        try:
            process.kill()
        except psutil.Error:
            pass
    run.wait(timeout=30)
    print("\n".join(output.lines))  # shown when the test fails


def _get(url: str, timeout_s: float = 60.0) -> httpx.Response:
    """GET once the server answers (it may still be starting when `make run` says it is running)."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            return httpx.get(url, timeout=10)
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def _healthy(url: str, timeout_s: float = 120.0) -> httpx.Response:
    """/healthz once it says 200: the Celery worker answers its ping a moment after the web server is up."""
    deadline = time.monotonic() + timeout_s
    while (response := _get(url)).status_code != 200 and time.monotonic() < deadline:
        time.sleep(0.5)
    return response


def test_make_run_restarts_a_killed_celery_worker_and_sigterm_stops_everything(own_var_dir):
    var_dir = own_var_dir
    run = _start_make_run(var_dir, WEB_SERVER="gunicorn")  # granian, the default, has its own test below
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

        _stop_with_two_sigterms(run, output, stack)
    finally:
        _leave_nothing_running(run, output, var_dir, stack)


def test_make_run_with_granian_serves_the_app_and_a_killed_granian_leaves_no_worker_behind(own_var_dir):
    # WEB_SERVER=granian: the same supervision, with granian's process model. Its workers, unlike
    # gunicorn's, keep serving (SO_REUSEPORT) when their main process is SIGKILLed: the supervisor
    # must stop them, or a restarted granian would share the port with stale workers.
    var_dir = own_var_dir
    run = _start_make_run(var_dir, WEB_SERVER="granian", WEB_WORKERS="2")
    output = Output(run.stdout)
    stack: list[psutil.Process] = []
    try:
        granian_pid = int(output.wait_for(r"started granian \(pid (\d+)\)").group(1))
        base = output.wait_for(r"health +: (http://\S+)/healthz").group(1)
        output.wait_for(r"Lakehouse is running")
        assert "-m granian lakehouse.wsgi:application --interface wsgi" in _command_line(psutil.Process(granian_pid))

        health = _healthy(f"{base}/healthz")
        assert health.status_code == 200, health.text
        css = _get(f"{base}/static/admin/css/base.css")  # WhiteNoise, from the admin app, through granian
        assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
        assert "font-family" in css.text

        def workers() -> list[psutil.Process]:
            return psutil.Process(granian_pid).children(recursive=True)

        deadline = time.monotonic() + 60
        while len(workers()) < 2:  # both spawned (the health check may have reached the first one)
            assert time.monotonic() < deadline, _command_line(psutil.Process(granian_pid))
            time.sleep(0.1)
        old_workers = stack = workers()  # left to the finally below if they outlive this test
        os.kill(granian_pid, signal.SIGKILL)
        output.wait_for(rf"granian \(pid {granian_pid}\) killed by SIGKILL; restarting in 1 s")
        output.wait_for(rf"granian \(pid {granian_pid}\) left processes behind: stopping them")
        new_pid = int(output.wait_for(r"restarted granian \(pid (\d+), restart #1\)").group(1))
        _, alive = psutil.wait_procs(old_workers, timeout=30)
        assert alive == [], [(p.pid, _command_line(p)) for p in alive]
        assert psutil.Process(new_pid).ppid() == run.pid
        assert _healthy(f"{base}/healthz").status_code == 200  # served by the new granian

        stack = [*old_workers, *_stack_processes(run, var_dir)]
        names = " ".join(_command_line(p) for p in stack)
        for expected in ("-m granian", "celery -A lakehouse worker", "bin/postgres", "redis-server"):
            assert expected in names, names
        assert "gunicorn" not in names
        _stop_with_two_sigterms(run, output, stack)
    finally:
        _leave_nothing_running(run, output, var_dir, stack)


def test_web_server_setting_picks_the_server_and_rejects_an_unknown_one(monkeypatch):
    from lakehouse.run import web_command

    monkeypatch.delenv("WEB_SERVER", raising=False)
    command = web_command("8123")
    assert command[1:3] == ["-m", "granian"]
    monkeypatch.setenv("WEB_SERVER", "gunicorn")
    assert web_command("8123")[1:3] == ["-m", "gunicorn"]
    assert command[command.index("--port") + 1] == "8123"
    monkeypatch.setenv("WEB_SERVER", "uvicorn")
    with pytest.raises(SystemExit, match="WEB_SERVER must be one of gunicorn, granian"):
        web_command("8123")


def test_the_web_server_keeps_a_warm_connection_per_thread_unless_told_otherwise(monkeypatch):
    from lakehouse.run import web_env

    for name in ("DB_WARM_CONNECTIONS", "DB_POOL_MIN_SIZE", "DB_POOL_MAX_SIZE", "WEB_THREADS"):
        monkeypatch.delenv(name, raising=False)
    assert web_env() == {"DB_WARM_CONNECTIONS": "true", "DB_POOL_MIN_SIZE": "4"}
    monkeypatch.setenv("WEB_THREADS", "12")
    monkeypatch.setenv("DB_POOL_MAX_SIZE", "10")
    assert web_env()["DB_POOL_MIN_SIZE"] == "10"  # never above the pool's maximum
    monkeypatch.setenv("DB_POOL_MIN_SIZE", "2")
    monkeypatch.setenv("DB_WARM_CONNECTIONS", "false")
    assert web_env() == {}  # an operator's own setting wins
