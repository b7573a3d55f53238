"""The harness's own parts: durations, configuration, and its HTTP connections against a small real
server (one keep-alive connection per simulated coordinator, timeouts, transport errors)."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from apps.loadtest.connections import Connections, run_event_loop
from apps.loadtest.harness import HarnessConfig, HarnessError, parse_duration, run
from apps.loadtest.scenarios import ApiClient, CheckFailed


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("300s", 300.0), ("5m", 300.0), ("60", 60.0), ("1.5h", 5400.0), ("250ms", 0.25), (" 10 S ", 10.0), ("0", 0.0), (45, 45.0)],
)
def test_parse_duration(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "s", "5 minutes", "-5s", "1e3", "5d", "ten"])
def test_parse_duration_rejects_what_it_cannot_read(text):
    with pytest.raises(ValueError):
        parse_duration(text)


def test_config_validates_and_never_reports_the_token():
    config = HarnessConfig(base_url="http://127.0.0.1:1", token="s3cret-token", concurrency=3, duration_s=2, scenarios=("profile_swap",))
    public = config.public()
    assert "s3cret-token" not in repr(public)
    assert public["concurrency"] == 3 and public["scenarios"] == ["profile_swap"]
    assert HarnessConfig(base_url="http://x", token="t").public()["scenarios"] == "all"
    with pytest.raises(ValueError, match="concurrency"):
        HarnessConfig(base_url="http://x", token="t", concurrency=0)
    with pytest.raises(ValueError, match="duration"):
        HarnessConfig(base_url="http://x", token="t", duration_s=0)
    with pytest.raises(ValueError, match="unknown scenario"):
        HarnessConfig(base_url="http://x", token="t", scenarios=("profile_swop",))


class _FakeApi(BaseHTTPRequestHandler):
    """A small real API server: answers the pre-flight, and every other request with a 503 in the
    API's error envelope (so each scenario fails at its first call and the client goes on at once).
    Records which TCP connection (the client's source port) carried each request."""

    protocol_version = "HTTP/1.1"  # keep-alive, like the real server
    FAILURE = json.dumps({"error": {"code": "service_unavailable", "message": "down for the test", "fields": {}}}).encode()

    def do_GET(self):
        self._answer()

    def do_POST(self):
        self._answer()

    def _answer(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.server.seen.append((self.path, self.client_address[1], self.headers.get("Authorization"), self.headers.get("User-Agent")))
        if self.path == "/api/v1/whoami":
            status, body = 200, b'{"username": "loadtest"}'
        elif self.path.startswith("/api/v1/workers/?"):
            status, body = 200, b'{"count": 12, "results": []}'
        elif self.path == "/slow":
            self.server.release.wait(30)  # never set before the client gives up
            status, body = 200, b"{}"
        elif self.path == "/hang-up":
            self.close_connection = True
            return
        else:
            status, body = 503, self.FAILURE
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def fake_api():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _FakeApi)
    server.daemon_threads = True
    server.seen = []
    server.release = threading.Event()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.release.set()
    server.shutdown()
    server.server_close()


def _url(server) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}"


def test_each_client_keeps_its_own_keep_alive_connection(fake_api):
    """Every simulated coordinator has one reused connection: N clients → N connections, each
    request of a client on its own connection, never shared."""

    async def one_client(connections: Connections, index: int) -> None:
        connection = connections.get(index)
        for _ in range(4):
            await connection.request("GET", f"/echo?client={index}")
            await asyncio.sleep(0)  # let the other clients interleave

    async def main():
        async with Connections(_url(fake_api), "t", timeout_s=5) as connections:
            await asyncio.gather(*(one_client(connections, i) for i in range(3)))

    run_event_loop(main())
    per_client = [[port for path, port, *_ in fake_api.seen if path == f"/echo?client={i}"] for i in range(3)]
    assert all(len(ports) == 4 and len(set(ports)) == 1 for ports in per_client), per_client  # reused, never reconnected
    assert len({ports[0] for ports in per_client}) == 3  # and not shared between clients


def test_a_run_opens_exactly_one_connection_per_coordinator(fake_api):
    """The harness end to end: a closed-loop run at concurrency 5 reaches the server over exactly 5
    connections (plus the pre-flight's), with the token, and reports the server's failures."""
    config = HarnessConfig(base_url=_url(fake_api), token="s3cret", concurrency=5, duration_s=0.5, scenarios=("profile_swap",))
    report = run(config)
    preflight = {port for path, port, *_ in fake_api.seen if path.startswith(("/api/v1/whoami", "/api/v1/workers/?"))}
    load = [(port, auth, agent) for path, port, auth, agent in fake_api.seen if path == "/api/v1/workers/search"]
    assert len(preflight) == 1
    assert len(load) >= 5 and len({port for port, _, _ in load}) == 5 and not preflight & {port for port, _, _ in load}
    assert {(auth, agent) for _, auth, agent in load} == {("Token s3cret", "lakehouse-multitier")}
    stats = report["scenarios"]["profile_swap"]
    assert stats["failures"] == stats["runs"] > 0 and report["ok"] is False
    assert [(r["reason"], r["example"]) for r in stats["failure_reasons"]] == [
        ("search: HTTP 503 service_unavailable: down for the test", "POST /api/v1/workers/search")
    ]
    assert report["config"]["corpus_workers"] == 12


def test_a_timeout_and_a_hang_up_fail_the_step_with_the_reason(fake_api):
    async def main():
        async with Connections(_url(fake_api), "t", timeout_s=0.3) as connections:
            client = ApiClient(connections.get(0))
            failures = []
            for path in ("/slow", "/hang-up"):
                with pytest.raises(CheckFailed) as failed:
                    await client.get(path, step="worker profile")
                failures.append(failed.value.reason)
            return failures

    timeout, hang_up = run_event_loop(main())
    assert timeout == "worker profile: TimeoutError (no answer within the client timeout)"
    assert hang_up.startswith("worker profile: ServerDisconnectedError")


def test_preflight_says_why_the_target_cannot_be_driven(fake_api):
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    with pytest.raises(HarnessError, match=rf"cannot reach http://127.0.0.1:{closed_port}: ClientConnectorError"):
        run(HarnessConfig(base_url=f"http://127.0.0.1:{closed_port}/", token="t", duration_s=1))
    assert fake_api.seen == []


def test_sleep_until_never_wakes_before_its_time_on_the_harness_loop():
    """uvloop's timers count whole milliseconds and can fire up to one early; a job planned at
    0.5 s into the measured window must not start (and report) at 0.499 s."""
    import time

    from apps.loadtest.harness import _sleep_until

    async def wake_times() -> list[float]:
        stop = asyncio.Event()
        lateness = []
        for i in range(120):
            at = time.perf_counter() + 0.0021 + i * 1.3e-5  # sub-millisecond offsets, where rounding bites
            assert await _sleep_until(at, stop) is True
            lateness.append(time.perf_counter() - at)
        return lateness

    assert min(run_event_loop(wake_times())) >= 0


def test_sleep_until_returns_false_when_stopped_first():
    import time

    from apps.loadtest.harness import _sleep_until

    async def stopped_early() -> tuple[bool, float]:
        stop = asyncio.Event()
        asyncio.get_running_loop().call_later(0.01, stop.set)
        began = time.perf_counter()
        woke = await _sleep_until(began + 5.0, stop)
        return woke, time.perf_counter() - began

    woke, waited = run_event_loop(stopped_early())
    assert woke is False and waited < 5.0
