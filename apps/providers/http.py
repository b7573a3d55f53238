"""The one retrying JSON-POST helper shared by the HTTP embedding and chat providers.

Retries only what is transient — connection errors, timeouts, dropped connections, 429 and 5xx — with
exponential backoff and jitter, honouring `Retry-After`. Everything else fails at once with a message
a coordinator or operator can act on. API keys never appear in a message: header secrets are redacted
and URLs are shown without credentials or query string.
"""

from __future__ import annotations

import email.utils
import logging
import os
import random
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx

from apps.providers.errors import ProviderError, ProviderResponseError, ProviderUnavailable

logger = logging.getLogger(__name__)

# Headers whose values are credentials; their values are scrubbed from any error message.
_SECRET_HEADERS = frozenset({"authorization", "api-key", "x-api-key", "proxy-authorization"})
_MAX_MESSAGE_CHARS = 300
# Module-level RNG: jitter only needs to spread clients apart, not be reproducible.
_jitter = random.Random()


@dataclass(frozen=True)
class PostResult:
    """A successful POST: the decoded JSON object plus what the caller needs for accounting."""

    json: dict[str, Any]
    status: int
    latency_ms: float  # wall time of the whole call, retries and backoff included
    attempts: int


def post_json(
    client: httpx.Client,
    url: str,
    payload: Mapping[str, Any],
    *,
    headers: Mapping[str, str] | None = None,
    retries: int = 3,
    backoff_s: float = 0.25,
    max_backoff_s: float = 8.0,
    sleep: Callable[[float], None] = time.sleep,
) -> PostResult:
    """POST `payload` as JSON and return the JSON object answered.

    Makes at most `retries + 1` attempts. Raises `ProviderUnavailable` when every attempt failed
    transiently, `ProviderError` on a non-retryable answer (4xx other than 429, redirects, bad URL)
    carrying the server's own message, and `ProviderResponseError` when a 2xx body is not a JSON
    object. Timeouts come from `client` (each attempt gets the client's timeout).
    """
    shown_url = display_url(url)
    secrets = _header_secrets(headers)
    max_attempts = max(0, retries) + 1
    started = time.perf_counter()
    last_problem = ""
    last_status: int | None = None

    for attempt in range(1, max_attempts + 1):
        retry_after: float | None = None
        try:
            response = client.post(url, json=payload, headers=dict(headers or {}))
        except httpx.TimeoutException as exc:
            last_problem = f"timed out ({type(exc).__name__})"
        except (httpx.NetworkError, httpx.RemoteProtocolError) as exc:
            # Refused/reset connections and servers that hang up mid-response are transient.
            last_problem = f"{type(exc).__name__}: {_redact(str(exc), secrets) or 'connection failed'}"
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            # Unsupported scheme, proxy misconfiguration, malformed URL: retrying cannot help.
            raise ProviderError(
                f"POST {shown_url} failed: {type(exc).__name__}: {_redact(str(exc), secrets)}",
                url=shown_url,
                attempts=attempt,
            ) from exc
        else:
            status = response.status_code
            if status == 429 or status >= 500:
                last_status = status
                last_problem = f"HTTP {status}: {_server_message(response, secrets)}"
                retry_after = parse_retry_after(response.headers.get("retry-after"))
            elif not 200 <= status < 300:
                raise ProviderError(
                    f"POST {shown_url} was rejected with HTTP {status}: "
                    f"{_server_message(response, secrets)}",
                    url=shown_url,
                    status=status,
                    attempts=attempt,
                )
            else:
                return PostResult(
                    json=_decode_object(response, shown_url, attempt),
                    status=status,
                    latency_ms=(time.perf_counter() - started) * 1000.0,
                    attempts=attempt,
                )

        if attempt < max_attempts:
            delay = (
                min(retry_after, max_backoff_s)
                if retry_after is not None
                else backoff_delay(attempt, backoff_s=backoff_s, max_backoff_s=max_backoff_s)
            )
            logger.warning(
                "POST %s attempt %d/%d failed (%s); retrying in %.2fs",
                shown_url, attempt, max_attempts, last_problem, delay,
            )
            sleep(delay)

    raise ProviderUnavailable(
        f"POST {shown_url} failed after {max_attempts} attempt(s); last error: {last_problem}",
        url=shown_url,
        status=last_status,
        attempts=max_attempts,
    )


def backoff_delay(attempt: int, *, backoff_s: float, max_backoff_s: float) -> float:
    """Delay before retry number `attempt` (1-based): exponential, capped, with "equal jitter" —
    at least half the nominal delay (so retries never hammer a struggling server) plus a random
    half (so many clients failing together do not retry in lockstep)."""
    nominal = min(max_backoff_s, backoff_s * (2 ** (attempt - 1)))
    return nominal / 2 + _jitter.uniform(0, nominal / 2)


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait according to a `Retry-After` header (delay-seconds or an HTTP-date).

    Returns None when absent or unparseable, never a negative number. Capping is the caller's job.
    """
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return max(0.0, seconds) if seconds == seconds else None  # NaN guard
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:  # RFC 9110 dates are GMT; be lenient with servers that omit it
        when = when.replace(tzinfo=timezone.utc)
    now = now or datetime.now(timezone.utc)
    return max(0.0, (when - now).total_seconds())


def display_url(url: str) -> str:
    """The URL as safe to show in messages and logs: no user:password, no query string."""
    try:
        parts = urlsplit(str(url))
    except ValueError:
        return "<invalid url>"
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def normalise_base_url(base_url: str, *, strip_v1: bool = False) -> str:
    """A model server's base URL without trailing slash. With `strip_v1`, also accept the
    OpenAI-SDK style "http://host:port/v1" (the providers append "/v1/..." themselves)."""
    url = (base_url or "").strip().rstrip("/")
    if not url.startswith(("http://", "https://")):
        raise ValueError(f"model server URL must start with http:// or https://, got {display_url(url)!r}")
    if strip_v1 and url.endswith("/v1"):
        url = url[: -len("/v1")]
    return url


def _decode_object(response: httpx.Response, shown_url: str, attempt: int) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError as exc:
        snippet = _collapse(response.text)[:80]
        raise ProviderResponseError(
            f"POST {shown_url} returned a non-JSON body "
            f"(content-type {response.headers.get('content-type', 'unknown')!r}): {snippet!r}",
            url=shown_url,
            status=response.status_code,
            attempts=attempt,
        ) from exc
    if not isinstance(body, dict):
        raise ProviderResponseError(
            f"POST {shown_url} returned JSON {type(body).__name__}, expected an object",
            url=shown_url,
            status=response.status_code,
            attempts=attempt,
        )
    return body


def _server_message(response: httpx.Response, secrets: list[str]) -> str:
    """The error text a server put in its body: OpenAI's {"error": {"message"}}, Ollama's
    {"error": "..."}, FastAPI-style {"detail"}, or else the raw text."""
    message: Any = None
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict):
            message = error.get("message")
        elif isinstance(error, str):
            message = error
        message = message or body.get("message") or body.get("detail")
    if not isinstance(message, str) or not message.strip():
        message = response.text or response.reason_phrase or "no message"
    return _redact(_collapse(message), secrets)[:_MAX_MESSAGE_CHARS]


def _header_secrets(headers: Mapping[str, str] | None) -> list[str]:
    secrets: list[str] = []
    for name, value in (headers or {}).items():
        if name.lower() in _SECRET_HEADERS and value:
            secrets.append(value)
            scheme, _, token = value.partition(" ")
            if token and scheme.lower() in {"bearer", "basic", "token"}:
                secrets.append(token)
    # Longest first so a full header value is replaced before its token part.
    return sorted(set(secrets), key=len, reverse=True)


def _redact(text: str, secrets: list[str]) -> str:
    for secret in secrets:
        if len(secret) >= 4:  # tiny values would mangle ordinary words
            text = text.replace(secret, "***")
    return text


_WHITESPACE = re.compile(r"\s+")


def _collapse(text: str) -> str:
    return _WHITESPACE.sub(" ", text).strip()


class PerProcessClient:
    """A lazily created `httpx.Client` (connection pool) per process.

    Providers are often built at import or settings time and then used in forked Celery/gunicorn
    workers; a pool inherited across `fork()` would share sockets between processes, so a new client
    is made the first time each process asks for one. `httpx.Client` itself is thread-safe.
    """

    def __init__(self, *, timeout: float, max_connections: int = 20) -> None:
        self._timeout = httpx.Timeout(timeout)
        self._limits = httpx.Limits(
            max_connections=max_connections, max_keepalive_connections=max_connections
        )
        self._client: httpx.Client | None = None
        self._pid: int | None = None
        self._lock = threading.Lock()

    def get(self) -> httpx.Client:
        pid = os.getpid()
        with self._lock:
            if self._client is None or self._pid != pid:
                # Never close an inherited client: its sockets belong to the parent process.
                self._client = httpx.Client(timeout=self._timeout, limits=self._limits)
                self._pid = pid
            return self._client

    def close(self) -> None:
        with self._lock:
            if self._client is not None and self._pid == os.getpid():
                self._client.close()
            self._client = None
            self._pid = None


class HTTPProvider:
    """What every model-server provider shares: base URL, optional bearer key, a per-process connection
    pool, retries with backoff, and optionally a cap on requests in flight per instance (a call that
    waits longer than `queue_timeout_s` for a free slot finds the provider saturated: 503, not a pile-up).

    Subclasses set `name` (the provider) and `service` ("chat", "embeddings") for messages.
    """

    name: str = "http"
    service: str = "model server"

    def __init__(
        self,
        base_url: str,
        *,
        api_key: str | None = None,
        timeout: float,
        retries: int,
        backoff_s: float,
        max_concurrency: int | None = None,
        queue_timeout_s: float | None = None,
    ) -> None:
        self.base_url = base_url
        self._api_key = api_key or None
        self.timeout = timeout
        self.retries = retries
        self.backoff_s = backoff_s
        self.max_concurrency = max(1, max_concurrency) if max_concurrency is not None else None
        self.queue_timeout_s = timeout if queue_timeout_s is None else queue_timeout_s
        self._slots = threading.BoundedSemaphore(self.max_concurrency) if self.max_concurrency else None
        self._client = PerProcessClient(timeout=timeout, max_connections=self.max_concurrency or 20)

    def _post(self, path: str, payload: dict[str, Any]) -> PostResult:
        url = f"{self.base_url}{path}"
        headers = {"Authorization": f"Bearer {self._api_key}"} if self._api_key else None
        if self._slots is None:
            return post_json(self._client.get(), url, payload, headers=headers, retries=self.retries, backoff_s=self.backoff_s)
        if not self._slots.acquire(timeout=self.queue_timeout_s):
            raise ProviderUnavailable(
                f"{self.name} {self.service} at {display_url(url)} is saturated: all {self.max_concurrency} "
                f"request slots stayed busy for {self.queue_timeout_s:g}s",
                url=display_url(url),
            )
        try:
            return post_json(self._client.get(), url, payload, headers=headers, retries=self.retries, backoff_s=self.backoff_s)
        finally:
            self._slots.release()

    def close(self) -> None:
        self._client.close()
