"""A real local HTTP model server for tests, speaking Ollama's and OpenAI's request/response shapes.

    from tests.providers.model_server import Behaviour, ModelServer

    with ModelServer(dim=8) as server:                      # 127.0.0.1, free port, daemon thread
        embedder = OllamaEmbedder(server.url, dim=8)
        server.enqueue(Behaviour.status(500), Behaviour.rate_limited(retry_after="2"))
        embedder.embed(["a"])                               # 500, then 429, then a normal answer
        server.requests[-1].json["input"]                   # what the server received

Endpoints (POST): /api/embed and /api/chat (Ollama), /v1/embeddings and /v1/chat/completions
(OpenAI). GET / answers "Ollama is running". Unknown paths get a 404.

Behaviours are consumed one per POST, first in first out; with the queue empty every request is
answered normally:

    Behaviour.normal()
    Behaviour.status(code, message="...", retry_after=None)  error body in the endpoint's shape
    Behaviour.rate_limited(retry_after="1")                 429 with Retry-After
    Behaviour.slow(seconds)                                 waits, then answers normally (timeouts)
    Behaviour.not_json()                                    200 with an HTML body
    Behaviour.wrong_dim(dim)                                embeddings of another dimension
    Behaviour.disconnect()                                  closes the connection without answering

Constructor options: `dim` (embedding size), `api_key` (OpenAI endpoints then require
"Authorization: Bearer <key>"; a wrong key gets a 401 whose message echoes the key, to test
redaction), `models` (a set of known model names; others get a 404 "model not found"),
`chat_reply(messages, model) -> str` (default: "echo: <last user message>"; also settable as an
attribute, e.g. `lambda messages, model: LocalChat().complete(messages).text` with apps.replay.local_drafter.LocalChat).

Embeddings are deterministic per text (`ModelServer.vector_for(text, dim)`, unit length). OpenAI
embeddings come back in reverse index order — allowed by the API — so clients must sort by index.
Token counts are ceil(chars / 4). Introspection: `requests` (list of `RecordedRequest`, POSTs
only), `max_in_flight` (highest number of requests handled at once), `reset()`.
"""

from __future__ import annotations

import hashlib
import json
import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import numpy as np

ChatReply = Callable[[list[dict[str, Any]], str], str]


@dataclass(frozen=True)
class Behaviour:
    """How the server answers one request."""

    kind: str = "normal"
    code: int = 200  # HTTP status for kind "status"
    message: str = ""
    retry_after: str | None = None
    delay_s: float = 0.0
    dim: int | None = None

    @classmethod
    def normal(cls) -> Behaviour:
        return cls()

    @classmethod
    def status(cls, code: int, message: str = "", retry_after: str | None = None) -> Behaviour:
        message = message or f"simulated HTTP {code}"
        return cls("status", code=code, message=message, retry_after=retry_after)

    @classmethod
    def rate_limited(cls, retry_after: str = "1") -> Behaviour:
        return cls.status(429, "rate limit exceeded", retry_after=retry_after)

    @classmethod
    def slow(cls, seconds: float) -> Behaviour:
        return cls("slow", delay_s=seconds)

    @classmethod
    def held(cls) -> Behaviour:
        """Answer normally, but only once the test calls `ModelServer.release_held()`."""
        return cls("held")

    @classmethod
    def not_json(cls) -> Behaviour:
        return cls("not_json")

    @classmethod
    def wrong_dim(cls, dim: int) -> Behaviour:
        return cls("wrong_dim", dim=dim)

    @classmethod
    def disconnect(cls) -> Behaviour:
        return cls("disconnect")


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]  # lower-case names
    json: Any  # the decoded body, None when it was not JSON


def _echo_reply(messages: list[dict[str, Any]], model: str) -> str:
    last_user = next((m.get("content", "") for m in reversed(messages) if m.get("role") == "user"), "")
    return f"echo: {last_user}"


class ModelServer:
    """See the module docstring."""

    def __init__(
        self,
        *,
        dim: int = 8,
        api_key: str | None = None,
        models: set[str] | None = None,
        chat_reply: ChatReply | None = None,
    ) -> None:
        self.dim = dim
        self.api_key = api_key
        self.models = models
        self.chat_reply: ChatReply = chat_reply or _echo_reply
        self._behaviours: deque[Behaviour] = deque()
        self._requests: list[RecordedRequest] = []
        self._lock = threading.Lock()
        self._in_flight = 0
        self.max_in_flight = 0
        self._stopping = threading.Event()
        self._released = threading.Event()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------------

    def start(self) -> ModelServer:
        self._stopping.clear()
        self._httpd = _QuietHTTPServer(("127.0.0.1", 0), _make_handler(self))
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and free the port (slow and held requests are cut short)."""
        self._stopping.set()
        self._released.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._httpd = None
        self._thread = None

    def __enter__(self) -> ModelServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._httpd is not None, "server not started"
        return self._httpd.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # -- scripting and introspection -------------------------------------------------------------

    def enqueue(self, *behaviours: Behaviour) -> None:
        with self._lock:
            self._behaviours.extend(behaviours)

    @property
    def in_flight(self) -> int:
        """Requests being handled right now."""
        with self._lock:
            return self._in_flight

    def release_held(self) -> None:
        self._released.set()

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    def reset(self) -> None:
        with self._lock:
            self._behaviours.clear()
            self._requests.clear()
            self.max_in_flight = 0
        self._released.clear()

    @staticmethod
    def vector_for(text: str, dim: int) -> list[float]:
        """The deterministic unit vector the server returns for `text`."""
        seed = int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "little")
        vector = np.random.default_rng(seed).standard_normal(dim)
        return (vector / np.linalg.norm(vector)).tolist()

    # -- used by the handler ---------------------------------------------------------------------

    def _record(self, request: RecordedRequest) -> Behaviour:
        with self._lock:
            self._requests.append(request)
            self._in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self._in_flight)
            return self._behaviours.popleft() if self._behaviours else Behaviour()

    def _done(self) -> None:
        with self._lock:
            self._in_flight -= 1


class _QuietHTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients that time out or are dropped on purpose leave broken sockets behind; that is
        # the point of those behaviours, not an error worth a traceback in the test output.
        pass


def _tokens(text: str) -> int:
    return math.ceil(len(text) / 4)


def _make_handler(server: ModelServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, like the real servers

        def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
            pass

        def do_GET(self) -> None:
            if self.path == "/":
                self._send(200, b"Ollama is running", "text/plain; charset=utf-8")
            else:
                self._send_json(404, {"error": "not found"})

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                body = None
            behaviour = server._record(
                RecordedRequest(
                    "POST", self.path, {k.lower(): v for k, v in self.headers.items()}, body
                )
            )
            try:
                self._answer(behaviour, body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (timeout) before the answer was written
            finally:
                server._done()

        # -- routing -----------------------------------------------------------------------------

        def _answer(self, behaviour: Behaviour, body: Any) -> None:
            routes = {
                "/api/embed": self._ollama_embed,
                "/api/chat": self._ollama_chat,
                "/v1/embeddings": self._openai_embeddings,
                "/v1/chat/completions": self._openai_chat,
            }
            route = routes.get(self.path.split("?")[0])
            openai = self.path.startswith("/v1/")
            if route is None:
                self._error(404, f"unknown path {self.path}", openai)
                return
            if behaviour.kind == "disconnect":
                self.close_connection = True
                self.connection.shutdown(2)  # SHUT_RDWR: the client sees the connection drop
                return
            if behaviour.kind == "slow":
                server._stopping.wait(behaviour.delay_s)
            if behaviour.kind == "held":
                server._released.wait(60)
            if behaviour.kind == "status":
                headers = {"Retry-After": behaviour.retry_after} if behaviour.retry_after else {}
                self._error(behaviour.code, behaviour.message, openai, headers)
                return
            if behaviour.kind == "not_json":
                self._send(200, b"<html><body>502 Bad Gateway</body></html>", "text/html")
                return
            if openai and server.api_key is not None:
                auth = self.headers.get("Authorization") or ""
                if auth != f"Bearer {server.api_key}":
                    given = auth.removeprefix("Bearer ")
                    self._error(401, f"Incorrect API key provided: {given}", openai, code="invalid_api_key")
                    return
            if not isinstance(body, dict) or not isinstance(body.get("model"), str):
                self._error(400, "request body must be a JSON object with a model", openai)
                return
            if server.models is not None and body["model"] not in server.models:
                model = body["model"]
                message = (
                    f"The model `{model}` does not exist" if openai
                    else f'model "{model}" not found, try pulling it first'
                )
                self._error(404, message, openai, code="model_not_found")
                return
            route(body, behaviour)

        # -- endpoints ---------------------------------------------------------------------------

        def _inputs(self, body: dict[str, Any]) -> list[str]:
            value = body.get("input")
            return [value] if isinstance(value, str) else list(value or [])

        def _ollama_embed(self, body: dict[str, Any], behaviour: Behaviour) -> None:
            inputs = self._inputs(body)
            dim = behaviour.dim or server.dim
            self._send_json(200, {
                "model": body["model"],
                "embeddings": [server.vector_for(text, dim) for text in inputs],
                "total_duration": 1_000_000,
                "load_duration": 100_000,
                "prompt_eval_count": sum(_tokens(text) for text in inputs),
            })

        def _openai_embeddings(self, body: dict[str, Any], behaviour: Behaviour) -> None:
            inputs = self._inputs(body)
            dim = behaviour.dim or server.dim
            data = [
                {"object": "embedding", "index": i, "embedding": server.vector_for(text, dim)}
                for i, text in enumerate(inputs)
            ]
            tokens = sum(_tokens(text) for text in inputs)
            self._send_json(200, {
                "object": "list",
                "data": data[::-1],
                "model": body["model"],
                "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
            })

        def _ollama_chat(self, body: dict[str, Any], behaviour: Behaviour) -> None:
            messages = body.get("messages") or []
            reply = server.chat_reply(messages, body["model"])
            self._send_json(200, {
                "model": body["model"],
                "created_at": "2026-01-01T00:00:00Z",
                "message": {"role": "assistant", "content": reply},
                "done": True,
                "done_reason": "stop",
                "total_duration": 1_000_000,
                "prompt_eval_count": _tokens("".join(str(m.get("content", "")) for m in messages)),
                "eval_count": _tokens(reply),
            })

        def _openai_chat(self, body: dict[str, Any], behaviour: Behaviour) -> None:
            messages = body.get("messages") or []
            reply = server.chat_reply(messages, body["model"])
            prompt = _tokens("".join(str(m.get("content", "")) for m in messages))
            completion = _tokens(reply)
            self._send_json(200, {
                "id": "chatcmpl-test",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": body["model"],
                "choices": [{
                    "index": 0,
                    "message": {"role": "assistant", "content": reply},
                    "finish_reason": "stop",
                }],
                "usage": {
                    "prompt_tokens": prompt,
                    "completion_tokens": completion,
                    "total_tokens": prompt + completion,
                },
            })

        # -- writing -----------------------------------------------------------------------------

        def _error(
            self,
            status: int,
            message: str,
            openai: bool,
            headers: dict[str, str] | None = None,
            code: str | None = None,
        ) -> None:
            if openai:
                kind = "server_error" if status >= 500 else "invalid_request_error"
                payload: dict[str, Any] = {"error": {"message": message, "type": kind, "code": code}}
            else:
                payload = {"error": message}
            self._send_json(status, payload, headers)

        def _send_json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
            self._send(status, json.dumps(payload).encode(), "application/json", headers)

        def _send(
            self, status: int, data: bytes, content_type: str, headers: dict[str, str] | None = None
        ) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

    return Handler
