"""Pure parts of the harness: durations, configuration, and the one-connection-per-client transport."""

from __future__ import annotations

import asyncio
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from apps.loadtest.harness import HarnessConfig, _client_slot, _make_http_client, parse_duration


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


class _PortEcho(BaseHTTPRequestHandler):
    """Answers with the client's source port, i.e. which TCP connection carried the request."""

    protocol_version = "HTTP/1.1"

    def do_GET(self):
        body = str(self.client_address[1]).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_each_client_task_keeps_its_own_keep_alive_connection():
    """The shared client gives every simulated coordinator one reused connection: N clients → N
    connections, each request of a client on its own connection."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _PortEcho)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    config = HarnessConfig(base_url=f"http://127.0.0.1:{server.server_address[1]}", token="t", concurrency=3, duration_s=1)

    async def one_client(http, index: int) -> list[str]:
        _client_slot.set(index)
        ports = []
        for _ in range(4):
            ports.append((await http.get("/")).text)
            await asyncio.sleep(0)
        return ports

    async def main():
        async with _make_http_client(config) as http:
            return await asyncio.gather(*(one_client(http, i) for i in range(3)))

    try:
        per_client = asyncio.run(main())
    finally:
        server.shutdown()
        server.server_close()
    assert all(len(set(ports)) == 1 for ports in per_client), per_client  # reused, never reconnected
    assert len({ports[0] for ports in per_client}) == 3  # and not shared between clients
