"""post_json against a real local HTTP server: retries, backoff, Retry-After, errors."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import httpx
import pytest

from apps.providers.errors import ProviderError, ProviderResponseError, ProviderUnavailable
from apps.providers.http import backoff_delay, display_url, parse_retry_after, post_json
from tests.providers.model_server import Behaviour, ModelServer

PAYLOAD = {"model": "nomic-embed-text", "input": ["forklift operator"]}


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=2.0) as client:
        yield client


class Sleeps(list):
    """Records requested sleeps instead of sleeping."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def test_success_returns_json_and_accounting(client: httpx.Client, model_server: ModelServer) -> None:
    result = post_json(client, f"{model_server.url}/api/embed", PAYLOAD)

    assert result.status == 200
    assert result.attempts == 1
    assert result.latency_ms > 0
    assert result.json["embeddings"] == [ModelServer.vector_for("forklift operator", 8)]
    assert model_server.requests[0].json == PAYLOAD


def test_5xx_is_retried_with_growing_backoff_then_unavailable(
    client: httpx.Client, model_server: ModelServer
) -> None:
    model_server.enqueue(*[Behaviour.status(500, "model runner crashed")] * 4)
    sleeps = Sleeps()

    with pytest.raises(ProviderUnavailable) as raised:
        post_json(client, f"{model_server.url}/api/embed", PAYLOAD, retries=3, backoff_s=0.5, sleep=sleeps)

    message = str(raised.value)
    assert f"{model_server.url}/api/embed" in message
    assert "4 attempt" in message and "HTTP 500" in message and "model runner crashed" in message
    assert raised.value.status == 500 and raised.value.attempts == 4
    assert len(model_server.requests) == 4
    # equal jitter: each wait lies in [nominal/2, nominal] with nominal 0.5, 1, 2
    assert [0.25 <= sleeps[0] <= 0.5, 0.5 <= sleeps[1] <= 1.0, 1.0 <= sleeps[2] <= 2.0] == [True] * 3


def test_transient_5xx_then_success(client: httpx.Client, model_server: ModelServer) -> None:
    model_server.enqueue(Behaviour.status(503), Behaviour.status(502))
    sleeps = Sleeps()

    result = post_json(client, f"{model_server.url}/api/embed", PAYLOAD, sleep=sleeps)

    assert result.attempts == 3
    assert len(sleeps) == 2
    assert "embeddings" in result.json


def test_429_honours_retry_after_seconds(client: httpx.Client, model_server: ModelServer) -> None:
    model_server.enqueue(Behaviour.rate_limited(retry_after="2"))
    sleeps = Sleeps()

    result = post_json(client, f"{model_server.url}/v1/embeddings", PAYLOAD, backoff_s=0.01, sleep=sleeps)

    assert result.attempts == 2
    assert sleeps == [2.0]


def test_retry_after_is_capped(client: httpx.Client, model_server: ModelServer) -> None:
    model_server.enqueue(Behaviour.rate_limited(retry_after="3600"))
    sleeps = Sleeps()

    post_json(client, f"{model_server.url}/v1/embeddings", PAYLOAD, max_backoff_s=5, sleep=sleeps)

    assert sleeps == [5.0]


def test_retry_after_http_date(client: httpx.Client, model_server: ModelServer) -> None:
    now = datetime(2026, 11, 27, 12, 0, 0, tzinfo=timezone.utc)
    assert parse_retry_after(format_datetime(now + timedelta(seconds=7), usegmt=True), now=now) == 7.0
    assert parse_retry_after(format_datetime(now - timedelta(seconds=7), usegmt=True), now=now) == 0.0
    assert parse_retry_after("1.5") == 1.5
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None

    # And through the server: a date 600 s ahead gives a wait of at most 600 s; however slow the
    # machine, far more than the 0.01 s backoff (the wait is recorded, never slept).
    when = format_datetime(datetime.now(timezone.utc) + timedelta(seconds=600), usegmt=True)
    model_server.enqueue(Behaviour.status(503, retry_after=when))
    sleeps = Sleeps()
    post_json(client, f"{model_server.url}/api/embed", PAYLOAD, backoff_s=0.01, max_backoff_s=3600, sleep=sleeps)
    assert len(sleeps) == 1 and 300.0 <= sleeps[0] <= 600.0


def test_timeout_is_retried_then_unavailable(model_server: ModelServer) -> None:
    model_server.enqueue(Behaviour.slow(2.0), Behaviour.slow(2.0))
    sleeps = Sleeps()

    with httpx.Client(timeout=0.2) as client, pytest.raises(ProviderUnavailable) as raised:
        post_json(client, f"{model_server.url}/api/chat", {"model": "m"}, retries=1, sleep=sleeps)

    assert "timed out" in str(raised.value) and "ReadTimeout" in str(raised.value)
    assert len(model_server.requests) == 2
    assert len(sleeps) == 1


def test_dropped_connection_is_retried(client: httpx.Client, model_server: ModelServer) -> None:
    model_server.enqueue(Behaviour.disconnect())

    result = post_json(client, f"{model_server.url}/api/embed", PAYLOAD, sleep=Sleeps())

    assert result.attempts == 2


def test_server_down_is_unavailable(client: httpx.Client) -> None:
    with socket.socket() as probe:  # a port that was free a moment ago and has no listener
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    sleeps = Sleeps()

    with pytest.raises(ProviderUnavailable) as raised:
        post_json(client, f"http://127.0.0.1:{port}/api/embed", PAYLOAD, retries=2, sleep=sleeps)

    assert f"127.0.0.1:{port}/api/embed" in str(raised.value)
    assert "ConnectError" in str(raised.value)
    assert len(sleeps) == 2


def test_4xx_is_not_retried_and_carries_server_message(client: httpx.Client) -> None:
    with ModelServer(models={"nomic-embed-text"}) as server:
        sleeps = Sleeps()
        with pytest.raises(ProviderError) as raised:
            post_json(client, f"{server.url}/api/embed", {"model": "missing", "input": ["x"]}, sleep=sleeps)

        assert not isinstance(raised.value, ProviderUnavailable)
        assert raised.value.status == 404
        assert 'model "missing" not found' in str(raised.value)
        assert len(server.requests) == 1 and sleeps == []


def test_non_json_body_is_a_response_error(client: httpx.Client, model_server: ModelServer) -> None:
    model_server.enqueue(Behaviour.not_json())

    with pytest.raises(ProviderResponseError) as raised:
        post_json(client, f"{model_server.url}/api/embed", PAYLOAD, sleep=Sleeps())

    assert "non-JSON" in str(raised.value) and "text/html" in str(raised.value)
    assert len(model_server.requests) == 1


def test_api_key_never_appears_in_errors(client: httpx.Client) -> None:
    with ModelServer(api_key="sk-right-key") as server:
        with pytest.raises(ProviderError) as raised:
            post_json(
                client, f"{server.url}/v1/embeddings", PAYLOAD,
                headers={"Authorization": "Bearer sk-wrong-secret-key"},
            )

    # The server echoes the key it received; the message must not.
    assert raised.value.status == 401
    assert "sk-wrong-secret-key" not in str(raised.value)
    assert "Incorrect API key provided: ***" in str(raised.value)


def test_display_url_hides_credentials_and_query() -> None:
    assert display_url("https://user:pw@models.example:8443/v1/embeddings?key=abc") == (
        "https://models.example:8443/v1/embeddings"
    )


def test_backoff_is_capped() -> None:
    delays = [backoff_delay(n, backoff_s=1.0, max_backoff_s=4.0) for n in range(1, 10)]
    assert all(0.5 <= d <= 4.0 for d in delays)
    assert all(2.0 <= d <= 4.0 for d in delays[3:])
