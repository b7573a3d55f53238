"""Project-wide fixtures: real PostgreSQL+pgvector (pytest-django's test database on the embedded or
configured server), real Redis (settings.REDIS_URL, database 1 under test), a real Celery worker
process, and API clients per role."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Iterator

import hypothesis
import numpy as np
import pytest
from django.conf import settings
from rest_framework.test import APIClient

BASE_DIR = Path(settings.BASE_DIR)

# Hypothesis: the suite runs derandomized (the same examples every run, so a CI failure reproduces
# on any machine) with no example database and no deadline (a slow machine is not a bug).
# HYPOTHESIS_PROFILE=explore draws fresh random examples and prints the seed of a failure.
hypothesis.settings.register_profile("lakehouse", derandomize=True, database=None, deadline=None, print_blob=True)
hypothesis.settings.register_profile("explore", derandomize=False, database=None, deadline=None, print_blob=True, max_examples=1000)
hypothesis.settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "lakehouse"))

# Django's live test server keeps socketserver's default listen backlog of 5: fifty clients connecting
# at once overflow it and some get "connection reset by peer" — a limit of the test server, not of the
# app (gunicorn's backlog is 2048). Tests that drive it with many clients need a production-like one.
from django.core.servers.basehttp import ThreadedWSGIServer  # noqa: E402

ThreadedWSGIServer.request_queue_size = 1024


def pytest_sessionfinish(session, exitstatus) -> None:
    """Stop the embedded servers this session started (a fresh clone's `make test` leaves nothing
    running); servers it only attached to — a `make run` in the same tree — are left alone, and so are
    servers another live process attached to meanwhile."""
    from lakehouse import embedded

    if not embedded.started_by_this_process:
        return
    from django.db import connections

    for connection in connections.all(initialized_only=True):
        connection.close()
        if hasattr(connection, "close_pool"):
            connection.close_pool()
    lines = embedded.release_started_servers()
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write("\n")
        for line in lines:
            reporter.write_line(line)


@pytest.fixture
def own_var_dir() -> Iterator[Path]:
    """An empty var/ for a test that starts embedded servers of its own.

    Not under pytest's tmp_path: every pytest session on the machine resets /tmp/pytest-of-<user> to
    mode 0700, and when we are root the embedded PostgreSQL runs as the `pgserver` user, which must be
    able to traverse the path to its data directory."""
    root = Path(tempfile.mkdtemp(prefix="lakehouse-test-"))
    var_dir = root / "var"
    var_dir.mkdir()
    yield var_dir
    shutil.rmtree(root, ignore_errors=True)


class _PoolSizedApplication:
    """Runs at most `limit` requests inside the app at once, like gunicorn's gthread workers (whose
    threads match the database pool). The live server otherwise starts one thread per connection:
    54 clients against a pool of 8 made requests wait DB_POOL_TIMEOUT for a connection and 503 — a
    limit of the test server, not of the app. Idle keep-alive connections hold no slot."""

    def __init__(self, app, limit: int):
        self.app = app
        self.slots = threading.BoundedSemaphore(limit)

    def __call__(self, environ, start_response):
        self.slots.acquire()
        try:
            result = self.app(environ, start_response)
        except BaseException:
            self.slots.release()
            raise
        return _ReleasingBody(result, self.slots)


class _ReleasingBody:
    def __init__(self, body, slots: threading.BoundedSemaphore):
        self.body, self.slots = body, slots

    def __iter__(self):
        return iter(self.body)

    def close(self) -> None:
        try:
            if hasattr(self.body, "close"):
                self.body.close()  # Django's request_finished: the connection goes back to the pool here
        finally:
            self.slots.release()


_original_set_app = ThreadedWSGIServer.set_app


def _set_pool_sized_app(self, application) -> None:
    pool = (settings.DATABASES["default"].get("OPTIONS") or {}).get("pool") or {}
    # One pooled connection stays for the test's own thread (the live server shares this process's pool).
    limit = max(1, pool.get("max_size", 8) - 1)
    _original_set_app(self, _PoolSizedApplication(application, limit) if pool else application)


ThreadedWSGIServer.set_app = _set_pool_sized_app


@pytest.fixture(scope="session")
def redis_client():
    from apps.core.redis import get_redis

    client = get_redis()
    client.ping()
    return client


@pytest.fixture(autouse=True)
def _isolated_caches(redis_client):
    """Each test starts with an empty cache database (tests use REDIS_DB 1, never the dev stack's 0),
    and empty in-process caches."""
    redis_client.flushdb()
    from apps.indexes.embedders import get_embedding_cache
    from apps.workers import selectors

    from apps.core.api.authentication import CachedTokenAuthentication

    from apps.playbooks import selectors as playbook_selectors

    get_embedding_cache().clear_local()
    selectors._stats_cache.clear()
    playbook_selectors._estimates.clear()
    CachedTokenAuthentication.forget_all()
    yield


def _client_for(username: str, *, staff: bool) -> APIClient:
    from apps.core.services import issue_api_token

    _, key = issue_api_token(username=username, staff=staff)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


@pytest.fixture
def coordinator_client(db) -> APIClient:
    return _client_for("coordinator", staff=False)


@pytest.fixture
def staff_client(db) -> APIClient:
    return _client_for("operator", staff=True)


def _test_database_url() -> str:
    from django.db import connection

    params = connection.settings_dict
    host = params.get("HOST") or ""
    user = params.get("USER") or "postgres"
    password = params.get("PASSWORD") or ""
    auth = f"{user}:{password}@" if password else f"{user}@"
    if host.startswith("/"):
        return f"postgresql://{auth}/{params['NAME']}?host={host}"
    return f"postgresql://{auth}{host}:{params.get('PORT') or 5432}/{params['NAME']}"


@pytest.fixture(scope="session")
def celery_worker_process(django_db_setup, django_db_blocker):
    """A real `celery worker` process on the test database and the test queues."""
    from lakehouse.celery import all_queue_names, app

    with django_db_blocker.unblock():
        env = dict(os.environ, DATABASE_URL=_test_database_url(), REDIS_URL=settings.REDIS_URL, DB_POOL="false")
    log = open(BASE_DIR / "var" / "test-celery-worker.log", "w")
    hostname = f"test-worker-{os.getpid()}@localhost"
    process = subprocess.Popen(
        [
            sys.executable, "-m", "celery", "-A", "lakehouse", "worker", "--queues", ",".join(all_queue_names()),
            "--concurrency", "2", "--pool", "prefork", "--loglevel", "INFO", "--hostname", hostname,
            "--without-gossip", "--without-mingle",
        ],
        cwd=BASE_DIR,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 60
    while True:
        replies = app.control.ping(destination=[hostname], timeout=0.5) or []
        if replies:
            break
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"celery worker did not start; see {log.name}")
    yield process
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
    log.close()


SEARCH_CORPUS_SIZE = 3000


@pytest.fixture(scope="session")
def search_corpus(django_db_setup, django_db_blocker, tmp_path_factory):
    from apps.workers.generator import generate_workers, write_workers
    from apps.workers.models import Worker
    from apps.workers.services import create_ingest_job, run_ingest

    path = tmp_path_factory.mktemp("corpus") / "workers.parquet"
    write_workers(generate_workers(SEARCH_CORPUS_SIZE, seed=11), path)
    with django_db_blocker.unblock():
        Worker.objects.all().delete()
        job = run_ingest(create_ingest_job(path=path, dispatch=False).pk)
        assert job.status == "succeeded", job.error
        rows = list(
            Worker.objects.values_list(
                "worker_id", "embedding", "status", "city", "state", "role", "skills", "certifications", "shift_preference", "available_from",
                "latitude", "longitude",
            )
        )
    ids = [r[0] for r in rows]
    matrix = np.array([r[1] for r in rows], dtype=np.float32)
    meta = [
        dict(zip(("status", "city", "state", "role", "skills", "certifications", "shift_preference", "available_from", "latitude", "longitude"), r[2:]))
        for r in rows
    ]
    return {"ids": ids, "matrix": matrix, "meta": meta}


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items):
    """Browser tests run last: their one session-wide Playwright keeps an asyncio loop running in the
    main thread from the first browser test on, and a later `asyncio.run` (the load harness) would
    refuse to start under it. Runs after pytest-django's own ordering; the relative order is kept."""
    items[:] = [item for item in items if item.get_closest_marker("browser") is None] + [
        item for item in items if item.get_closest_marker("browser") is not None
    ]
