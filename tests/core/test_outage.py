"""A PostgreSQL outage is answered fast and recovered from by itself (SPEC §5, issue 17).

A real web process (gunicorn, the production pool settings) runs against a private PostgreSQL
started from the embedded binaries under a temporary var/ directory — the suite's shared server is
never touched. The test stops that PostgreSQL under load-free conditions, times the 503s of an API
path and of /healthz, restarts it and times the first request after recovery.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import pytest
from django.conf import settings

BASE_DIR = Path(settings.BASE_DIR)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _run(args: list[str], env: dict[str, str]) -> str:
    done = subprocess.run([sys.executable, *args], cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def _wait_until(condition, *, timeout_s: float, what: str):
    deadline = time.monotonic() + timeout_s
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not reached within {timeout_s} s")
        time.sleep(0.1)  # polling interval of a condition, not a wait on time


def _timed_get(client: httpx.Client, path: str, **kwargs) -> tuple[httpx.Response, float]:
    t0 = time.monotonic()
    response = client.get(path, **kwargs)
    return response, time.monotonic() - t0


@pytest.fixture
def private_stack():
    var = Path(tempfile.mkdtemp(prefix="outage-", dir=BASE_DIR / "var"))
    env = {key: value for key, value in os.environ.items() if key != "DATABASE_URL"}
    env |= {
        "LAKEHOUSE_VAR_DIR": str(var),
        "REDIS_URL": settings.REDIS_URL,
        "PG_SHARED_BUFFERS": "32MB",
        "PG_MAINTENANCE_WORK_MEM": "64MB",
        "PG_MAX_CONNECTIONS": "30",
        "DB_POOL_TIMEOUT": "2",
        "DB_CONNECT_TIMEOUT": "2",
        "DB_POOL_RECONNECT_TIMEOUT": "2",
        "API_TOKEN_CACHE_S": "0",  # every request asks the database
    }
    web = None
    try:
        for app in ("auth", "authtoken"):  # only what token authentication needs; starts the private PostgreSQL
            _run(["manage.py", "migrate", app, "--noinput"], env)
        token = _run(["manage.py", "api_token", "outage-operator", "--staff"], env).strip()
        port = _free_port()
        web = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "lakehouse.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", "1",
             "--threads", "4", "--worker-class", "gthread", "--timeout", "60"],
            cwd=BASE_DIR, env=env, stdout=subprocess.DEVNULL, stderr=open(var / "web.log", "w"),
        )
        client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30, headers={"Authorization": f"Token {token}"})

        def web_is_up():
            try:
                return client.get("/api/v1/whoami").status_code == 200
            except httpx.TransportError:
                return web.poll() is not None and pytest.fail((var / "web.log").read_text()[-3000:])

        _wait_until(web_is_up, timeout_s=120, what="the web process answering")
        yield client, env
    finally:
        if web is not None:
            web.terminate()
            web.wait(timeout=30)
        subprocess.run([sys.executable, "-m", "lakehouse.embedded", "stop"], cwd=BASE_DIR, env=env, capture_output=True, timeout=120)
        shutil.rmtree(var, ignore_errors=True)


def test_postgres_down_is_503_within_3_s_and_the_next_request_after_restart_succeeds(private_stack):
    client, env = private_stack
    assert client.get("/healthz").json()["database"]["ok"] is True

    _run(["-m", "lakehouse.embedded", "stop"], env)

    response, api_s = _timed_get(client, "/api/v1/whoami")
    assert response.status_code == 503, response.text
    assert response.json()["error"]["code"] == "database_unavailable"
    health, health_s = _timed_get(client, "/healthz")
    assert health.status_code == 503 and "database" in health.json()["down"]
    print(f"\noutage: API 503 in {api_s:.2f} s, /healthz 503 in {health_s:.2f} s")
    assert api_s < 3.0
    assert health_s < 3.0

    _run(["-m", "lakehouse.embedded", "start"], env)
    t0 = time.monotonic()
    response, first_s = _timed_get(client, "/api/v1/whoami")
    # The pooled connections the restart killed are checked and replaced, not reported.
    assert response.status_code == 200, response.text
    health, health_s = _timed_get(client, "/healthz")
    assert health.json()["database"]["ok"] is True
    print(f"recovery: first API request after restart 200 in {first_s:.2f} s, /healthz in {health_s:.2f} s")
    assert first_s < 3.0 and time.monotonic() - t0 < 6.0
