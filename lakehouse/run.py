"""`make run`: everything a fresh machine needs, then web + worker + beat in the foreground, supervised.

Starts embedded PostgreSQL/Redis when no URLs are set, migrates, creates the admin user and token,
starts the web server (granian, or gunicorn with WEB_SERVER=gunicorn), one Celery worker and Celery
beat, loads the demo corpus through the worker on first run, and prints where to go.

A child that exits (a crash, an OOM kill, `kill -9`) is started again after a backoff that doubles on
each quick failure, with a line in the output; it is not a reason to stop the rest. What it left in its
process group (a SIGKILLed granian's workers) is stopped before the new one starts. The children run in
their own sessions, so a terminal's Ctrl-C reaches only this supervisor, which stops them in order. The
first Ctrl-C/SIGTERM/SIGHUP stops everything this command started — the embedded servers included,
unless another live process still uses them; further signals during that shutdown are noted and
otherwise ignored, so a second Ctrl-C cannot leave PostgreSQL or Redis behind.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

BASE_DIR = Path(__file__).resolve().parent.parent

# Restart backoff: 1 s after the first quick failure, doubling up to 30 s; a child that stayed up for
# STABLE_AFTER_S starts again from 1 s.
RESTART_BACKOFF_S = 1.0
RESTART_BACKOFF_MAX_S = 30.0
STABLE_AFTER_S = 60.0
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def _admin_password(var_dir: Path) -> str:
    """ADMIN_PASSWORD, or a random one generated on first run and kept in var/ (mode 0600)."""
    if os.environ.get("ADMIN_PASSWORD"):
        return os.environ["ADMIN_PASSWORD"]
    path = var_dir / "admin-password"
    if path.exists():
        return path.read_text().strip()
    var_dir.mkdir(parents=True, exist_ok=True)
    password = secrets.token_urlsafe(12)
    path.write_text(password + "\n")
    path.chmod(0o600)
    return password


WEB_SERVERS = ("gunicorn", "granian")


def web_server() -> str:
    """WEB_SERVER: which WSGI server serves lakehouse.wsgi. granian by default: on the quiet machine it
    ran the multitier load 9–15 % faster than gunicorn gthread, back to back (benchmarks/README.md)."""
    name = os.environ.get("WEB_SERVER", "granian").strip().lower() or "granian"
    if name not in WEB_SERVERS:
        raise SystemExit(f"WEB_SERVER must be one of {', '.join(WEB_SERVERS)}, not {name!r}")
    return name


def web_command(port: str) -> list[str]:
    return granian_command(port) if web_server() == "granian" else gunicorn_command(port)


# Threads per web process. 4, not 8: on 2 cores a process cannot run more than a few requests at once
# anyway, and each thread holds its own PostgreSQL backend, whose page tables must warm to the HNSW
# index: with 16 backends the first minutes after a restart ran 148–190 scenarios/s, with 8 backends
# 184–206 (alternating runs, issue 18).
DEFAULT_WEB_THREADS = "4"


def _warm_search_index() -> None:
    """Read the workers' HNSW index into PostgreSQL's shared buffers once, beside the running stack
    (apps.workers.selectors.warm_search_index); a failure only costs the warm-up."""
    from django.db import connection

    from apps.workers.selectors import warm_search_index

    started = time.monotonic()
    try:
        reached = warm_search_index()
        print(f"search index warmed: {reached} workers in {time.monotonic() - started:.1f} s", flush=True)
    except Exception as exc:  # never fatal: searches warm the index themselves, only slower
        print(f"search index not warmed ({type(exc).__name__}: {exc})", flush=True)
    finally:
        connection.close()


def web_env() -> dict[str, str]:
    """A web process keeps a warmed connection for each of its threads: DB_WARM_CONNECTIONS on
    (lakehouse/postgresql/base.py warms each new pooled connection, off the request path) and
    DB_POOL_MIN_SIZE = WEB_THREADS (at most DB_POOL_MAX_SIZE), so its pool never closes idle ones
    to open cold ones under the next burst. Either is left alone when set."""
    threads = int(os.environ.get("WEB_THREADS", DEFAULT_WEB_THREADS))
    defaults = {
        "DB_WARM_CONNECTIONS": "true",
        "DB_POOL_MIN_SIZE": str(min(threads, int(os.environ.get("DB_POOL_MAX_SIZE", "8")))),
    }
    return {name: value for name, value in defaults.items() if not os.environ.get(name)}


def gunicorn_command(port: str) -> list[str]:
    # gthread: requests spend most of their time waiting on PostgreSQL/Redis, so threads overlap that
    # wait cheaply; worker count and threads are tuned in benchmarks/README.md for the 2-core machine.
    return [
        sys.executable, "-m", "gunicorn", "lakehouse.wsgi:application",
        "--bind", f"{os.environ.get('HOST', '127.0.0.1')}:{port}",
        "--worker-class", "gthread",
        "--workers", os.environ.get("WEB_WORKERS", "2"),
        "--threads", os.environ.get("WEB_THREADS", DEFAULT_WEB_THREADS),
        "--timeout", "120",
        "--keep-alive", "30",
        "--access-logfile", "-" if os.environ.get("ACCESS_LOG") else "/dev/null",
    ]


def granian_command(port: str) -> list[str]:
    # The same shape as gunicorn's: WEB_WORKERS processes, each running the WSGI app in WEB_THREADS
    # blocking threads; HTTP parsing and keep-alive are in granian's Rust runtime.
    return [
        sys.executable, "-m", "granian", "lakehouse.wsgi:application",
        "--interface", "wsgi",
        "--host", os.environ.get("HOST", "127.0.0.1"),
        "--port", port,
        "--workers", os.environ.get("WEB_WORKERS", "2"),
        "--blocking-threads", os.environ.get("WEB_THREADS", DEFAULT_WEB_THREADS),
        "--http", "1",
        "--no-ws",  # WSGI has no websockets (granian says so at startup otherwise)
        "--http1-keep-alive",
        "--backlog", "2048",  # gunicorn's default
        # A crashed or killed worker is started again, as gunicorn's master does (off by default).
        "--respawn-failed-workers",
        # On SIGTERM, workers that do not finish within this are killed by granian itself, before the
        # supervisor's SIGKILL of granian (after 30 s) could leave them running without a parent.
        "--workers-kill-timeout", "25",
        "--access-log" if os.environ.get("ACCESS_LOG") else "--no-access-log",
    ]


def celery_command(queues: list[str]) -> list[str]:
    return [
        sys.executable, "-m", "celery", "-A", "lakehouse", "worker",
        "--queues", ",".join(queues),
        "--concurrency", os.environ.get("CELERY_CONCURRENCY", "1"),
        "--loglevel", os.environ.get("CELERY_LOGLEVEL", "INFO"),
        "--hostname", f"lakehouse@{os.uname().nodename}-{os.getpid()}",
    ]


def beat_command(var_dir: Path) -> list[str]:
    # One beat per stack: its schedule file (last run of each entry) lives with the stack's data.
    return [
        sys.executable, "-m", "celery", "-A", "lakehouse", "beat",
        "--schedule", str(var_dir / "celerybeat-schedule"),
        "--loglevel", os.environ.get("CELERY_LOGLEVEL", "INFO"),
    ]


def stop_processes(children: list[subprocess.Popen], timeout_s: float = 30.0) -> None:
    """SIGTERM each child, give them time to finish their work, then SIGKILL what is left."""
    for child in children:
        if child.poll() is None:
            child.terminate()
    for child in children:
        try:
            child.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def say(message: str) -> None:
    print(f"[make run] {message}", flush=True)


def _exit_reason(returncode: int) -> str:
    if returncode < 0:
        try:
            return f"killed by {signal.Signals(-returncode).name}"
        except ValueError:
            return f"killed by signal {-returncode}"
    return f"exited with code {returncode}"


@dataclass
class Supervised:
    """One long-running child that `make run` keeps alive."""

    name: str
    command: list[str]
    env: dict[str, str] = field(default_factory=dict)  # on top of this process's environment
    process: subprocess.Popen | None = None
    started_at: float = 0.0
    quick_failures: int = 0
    restart_at: float | None = None
    restarts: int = 0

    orphans: bool = False

    def start(self) -> None:
        # Own session: the terminal's Ctrl-C goes to the supervisor only, which stops children in order.
        self.process = subprocess.Popen(self.command, cwd=BASE_DIR, start_new_session=True, env={**os.environ, **self.env} if self.env else None)
        self.started_at = time.monotonic()
        self.restart_at = None
        self.orphans = False

    def signal_leftovers(self, signum: int) -> bool:
        """Signal what is left of the exited child's process group (its session: pgid == its pid).

        A killed granian main leaves its workers serving on the port (SO_REUSEPORT lets the restarted
        one bind beside them), whereas gunicorn's workers notice a new parent and exit; so whatever a
        dead child leaves behind is stopped here, for every child alike. True when anything was left.
        """
        try:
            os.killpg(self.process.pid, signum)
        except (ProcessLookupError, PermissionError):
            return False
        return True


@dataclass
class Supervisor:
    """Keeps the children running until stop(); safe to stop from another thread."""

    children: list[Supervised]
    _stopping: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        with self._lock:
            for child in self.children:
                child.start()
                say(f"started {child.name} (pid {child.process.pid})")
        self._thread = threading.Thread(target=self._watch, name="supervisor", daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        while not self._stopping.wait(0.2):
            with self._lock:
                if self._stopping.is_set():
                    return
                for child in self.children:
                    self._check(child, time.monotonic())

    def _check(self, child: Supervised, now: float) -> None:
        if child.restart_at is not None:
            if now >= child.restart_at:
                if child.orphans:  # asked to stop when their parent died; whatever is left goes now
                    child.signal_leftovers(signal.SIGKILL)
                child.start()
                child.restarts += 1
                say(f"restarted {child.name} (pid {child.process.pid}, restart #{child.restarts})")
            return
        returncode = child.process.poll()
        if returncode is None:
            return
        if now - child.started_at >= STABLE_AFTER_S:
            child.quick_failures = 0
        delay = min(RESTART_BACKOFF_S * 2**child.quick_failures, RESTART_BACKOFF_MAX_S)
        child.quick_failures += 1
        child.restart_at = now + delay
        say(f"{child.name} (pid {child.process.pid}) {_exit_reason(returncode)}; restarting in {delay:.0f} s")
        if child.signal_leftovers(signal.SIGTERM):
            child.orphans = True
            say(f"{child.name} (pid {child.process.pid}) left processes behind: stopping them")

    def stop(self) -> None:
        """Stop supervising, then stop every child (SIGTERM, then SIGKILL after 30 s), and whatever a
        child SIGKILLed that way, or one that died earlier, left behind in its process group."""
        self._stopping.set()
        with self._lock:  # waits for a restart in progress, so no child starts after this
            started = [child for child in self.children if child.process is not None]
        stop_processes([child.process for child in started])
        for child in started:
            child.signal_leftovers(signal.SIGKILL)


class StopSignals:
    """The first Ctrl-C/SIGTERM/SIGHUP interrupts what the main thread is doing (KeyboardInterrupt);
    later ones are only noted. Inside `deferred()` the interrupt waits until the block is done."""

    def __init__(self) -> None:
        self.received = False
        self._deferring = False

    def install(self) -> None:
        # Installed explicitly: a shell that starts us in the background leaves SIGINT ignored.
        for signum in STOP_SIGNALS:
            signal.signal(signum, self._handle)

    def _handle(self, signum, frame) -> None:
        name = signal.Signals(signum).name
        if self.received:
            say(f"{name} received while stopping: still waiting for the processes to stop")
            return
        self.received = True
        say(f"{name} received: stopping")
        if not self._deferring:
            raise KeyboardInterrupt

    @contextmanager
    def deferred(self) -> Iterator[None]:
        # Not a signal mask: children forked meanwhile would inherit it across exec and ignore SIGTERM.
        self._deferring = True
        try:
            yield
        finally:
            self._deferring = False
        if self.received:
            raise KeyboardInterrupt

    def stopping(self) -> None:
        """From here on, signals are noted and ignored."""
        self.received = True


def main() -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lakehouse.settings")
    signals = StopSignals()
    signals.install()
    server = web_server()  # a mistyped WEB_SERVER stops here, before anything is started

    from lakehouse import embedded

    supervisor: Supervisor | None = None
    try:
        if not (os.environ.get("DATABASE_URL") and os.environ.get("REDIS_URL")):
            say("Starting or attaching to the embedded services (PostgreSQL + pgvector, Redis) under var/ ...")

        import django

        with signals.deferred():  # a server half-started by an interrupted settings import would be orphaned
            django.setup()
        from django.conf import settings
        from django.core.management import call_command

        from apps.core.services import issue_api_token
        from lakehouse.celery import all_queue_names

        say("Applying migrations ...")
        # Under an advisory lock: several nodes starting at once against one database migrate once.
        call_command("migrate_locked", verbosity=0)
        username = os.environ.get("ADMIN_USER", "admin")
        password = _admin_password(embedded.VAR_DIR)
        _, token = issue_api_token(username=username, staff=True, password=password)

        port = os.environ.get("PORT", "8000")
        supervisor = Supervisor(
            [
                Supervised("celery worker", celery_command(all_queue_names())),
                Supervised("celery beat", beat_command(embedded.VAR_DIR)),
                Supervised(server, web_command(port), env=web_env()),
            ]
        )
        with signals.deferred():  # every child started is recorded, so none escapes the shutdown
            supervisor.start()

        count = int(os.environ.get("WORKERS", "10000"))
        if count > 0:
            from apps.workers.demo import load_demo_corpus

            load_demo_corpus(count=count, actor=username)
        threading.Thread(target=_warm_search_index, name="warm-search-index", daemon=True).start()
        base = f"http://127.0.0.1:{port}"
        print(
            "\nLakehouse is running.\n"
            f"  admin console : {base}/admin/   (login: {username} / {password})\n"
            f"  API docs      : {base}/api/docs/\n"
            f"  health        : {base}/healthz\n"
            f"  API token     : {token}\n"
            f"  try           : curl -H 'Authorization: Token {token}' {base}/api/v1/whoami\n"
            f"  database      : {'embedded (var/pgdata)' if settings.EMBEDDED_DATABASE else 'DATABASE_URL'}; "
            f"redis: {'embedded (var/redis)' if settings.EMBEDDED_REDIS else 'REDIS_URL'}\n"
            "Press Ctrl-C to stop.",
            flush=True,
        )
        while True:
            signal.pause()
    except KeyboardInterrupt:
        return 0
    finally:
        signals.stopping()
        if supervisor is not None:
            supervisor.stop()
        if embedded.started_by_this_process:
            from django.db import connections

            connections.close_all()
            for line in embedded.release_started_servers():
                say(line)
        print("\nLakehouse stopped.", flush=True)


if __name__ == "__main__":
    raise SystemExit(main())
