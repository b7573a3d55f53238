"""The load generator's HTTP connections: one keep-alive HTTP/1.1 connection per simulated
coordinator, over aiohttp.

The generator shares the cores with the server it measures, so every millisecond of CPU it spends
per request is taken from the server under test. With httpx the client stack (httpx, httpcore, h11,
anyio) cost ~1 ms of CPU per request at concurrency 50; aiohttp's C HTTP parser and plain asyncio
transports do the same work for a fraction of that (numbers in apps/loadtest/README.md).

Each coordinator gets its own ``aiohttp.ClientSession`` over a ``TCPConnector(limit=1)``: exactly
one connection per coordinator, reused like a browser's keep-alive connection, and no pool shared by
all of them whose bookkeeping would grow with the concurrency. Requests are sent to absolute URLs
parsed once, the body already encoded, and the response read whole: callers get ``(status, body)``.

Errors are aiohttp's own: ``TimeoutError`` (no answer within the client timeout; aiohttp's
``ServerTimeoutError`` is one too) and ``aiohttp.ClientError`` for everything else on the wire
(refused, reset, closed mid-answer). ``TRANSPORT_ERRORS`` names both for callers that treat them
alike.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Hashable
from typing import Any, TypeVar

import aiohttp
from yarl import URL

# Below gunicorn's default keep-alive (2 s): the client drops an idle connection before the server
# does, so a request never races a server-side close on a reused socket.
KEEPALIVE_EXPIRY_S = 1.5
CONNECT_TIMEOUT_S = 10.0
USER_AGENT = "lakehouse-multitier"

TRANSPORT_ERRORS = (TimeoutError, aiohttp.ClientError)

T = TypeVar("T")


class Connection:
    """One keep-alive HTTP/1.1 connection to the target (opened on first use, re-opened after the
    keep-alive expiry or a server-side close), for one simulated coordinator at a time."""

    __slots__ = ("base_url", "_session", "_urls")

    def __init__(self, base_url: str, session: aiohttp.ClientSession) -> None:
        self.base_url = base_url
        self._session = session
        self._urls: dict[str, URL] = {}

    def url(self, path: str) -> URL:
        """The absolute URL of ``path`` (with its query string, if any)."""
        return URL(self.base_url + path)

    def fixed_url(self, path: str) -> URL:
        """``url`` for the API's fixed endpoints, parsed once: callers must not pass paths carrying
        ids, which would grow the cache with every worker looked up."""
        url = self._urls.get(path)
        if url is None:
            url = self._urls[path] = self.url(path)
        return url

    async def request(self, method: str, url: URL | str, body: bytes | None = None) -> tuple[int, bytes]:
        """Send one request and read the whole answer: ``(status, body)``. Raises ``TimeoutError``
        or ``aiohttp.ClientError`` (see the module docstring)."""
        if isinstance(url, str):
            url = self.url(url)
        async with self._session.request(method, url, data=body, allow_redirects=False) as response:
            return response.status, await response.read()


class Connections:
    """The generator's connections to one target, one per key (a coordinator's index, or a name
    such as "operator" for the side tasks), opened on first use and all closed by ``aclose``."""

    def __init__(self, base_url: str, token: str, *, timeout_s: float, keepalive_expiry_s: float = KEEPALIVE_EXPIRY_S) -> None:
        self.base_url = base_url.rstrip("/")
        self._headers = {
            "Authorization": f"Token {token}",
            "Content-Type": "application/json",
            "Accept": "application/json",
            "User-Agent": USER_AGENT,
        }
        self._timeout = aiohttp.ClientTimeout(total=timeout_s, connect=min(CONNECT_TIMEOUT_S, timeout_s))
        self._keepalive_expiry_s = keepalive_expiry_s
        self._connections: dict[Hashable, Connection] = {}
        self._sessions: list[aiohttp.ClientSession] = []

    def get(self, key: Hashable) -> Connection:
        connection = self._connections.get(key)
        if connection is None:
            session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=1, keepalive_timeout=self._keepalive_expiry_s),
                headers=self._headers,
                timeout=self._timeout,
                # An API client: no cookies to keep, and no cost for parsing any a proxy may set.
                cookie_jar=aiohttp.DummyCookieJar(),
                # Proxy variables from the environment must not reroute a load test of a local server.
                trust_env=False,
            )
            self._sessions.append(session)
            connection = self._connections[key] = Connection(self.base_url, session)
        return connection

    async def aclose(self) -> None:
        sessions, self._sessions, self._connections = self._sessions, [], {}
        await asyncio.gather(*(session.close() for session in sessions), return_exceptions=True)

    async def __aenter__(self) -> Connections:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


def _event_loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's event loop when it is installed (less CPU per request for the generator), else the
    standard one."""
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


def run_event_loop(coroutine: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run`` on the fastest event loop available."""
    with asyncio.Runner(loop_factory=_event_loop_factory()) as runner:
        return runner.run(coroutine)
