"""Chat providers behind one interface: `ChatProvider.complete(messages) -> ChatResult`.

`OpenAIChat` talks to any OpenAI-compatible server (Ollama serves one), `OllamaChat` to Ollama's
native API. They share `HTTPProvider` (timeouts, retries, backoff, a cap on in-flight requests per
instance). Providers that know the domain (the offline drafter, apps/replay/local_drafter.py) live
in their domain app and register here. Results and errors never contain API keys.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from apps.providers.tokens import estimate_tokens
from apps.providers.errors import ProviderResponseError
from apps.providers.http import HTTPProvider, PostResult, display_url, normalise_base_url

HTTP_CHAT_PROVIDERS = ("openai", "ollama")
DEFAULT_OPENAI_CHAT_MODEL = "gpt-4o-mini"
DEFAULT_OLLAMA_CHAT_MODEL = "llama3.2"


@dataclass(frozen=True)
class ChatResult:
    """One completion. `tokens_estimated` is True when the counts are ceil(chars / 4) estimates
    (local drafter, or a server that reported no usage) rather than the server's own counts."""

    text: str
    model: str
    prompt_tokens: int
    completion_tokens: int
    latency_ms: float
    attempts: int
    tokens_estimated: bool = False


class ChatProvider(ABC):
    """Completes a list of {"role", "content"} messages."""

    name: str
    model: str

    @abstractmethod
    def complete(
        self, messages: Sequence[Mapping[str, Any]], *, model: str | None = None, temperature: float = 0
    ) -> ChatResult:
        """Answer `messages` with `model` (default: the provider's model)."""

    def close(self) -> None:
        """Release connections; the provider stays usable."""

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}/{self.model}>"


# --------------------------------------------------------------------------------------------------
# HTTP chat providers
# --------------------------------------------------------------------------------------------------


class _HTTPChat(HTTPProvider, ChatProvider):
    """A chat provider on a model server: the shared HTTP plumbing with a per-instance concurrency limit."""

    service = "chat"

    def __init__(
        self,
        base_url: str,
        *,
        api_key: str | None,
        model: str,
        timeout: float,
        retries: int,
        max_concurrency: int,
        backoff_s: float,
        queue_timeout_s: float | None,
    ) -> None:
        super().__init__(
            base_url, api_key=api_key, timeout=timeout, retries=retries, backoff_s=backoff_s,
            max_concurrency=max_concurrency, queue_timeout_s=queue_timeout_s,
        )
        self.model = model

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}/{self.model} at {display_url(self.base_url)}>"


class OpenAIChat(_HTTPChat):
    """POST {base}/v1/chat/completions on any OpenAI-compatible server."""

    name = "openai"

    def __init__(
        self,
        base_url: str,
        api_key: str | None = None,
        model: str = DEFAULT_OPENAI_CHAT_MODEL,
        timeout: float = 60.0,
        retries: int = 3,
        max_concurrency: int = 4,
        *,
        backoff_s: float = 0.25,
        queue_timeout_s: float | None = None,
    ) -> None:
        super().__init__(
            normalise_base_url(base_url, strip_v1=True), api_key=api_key, model=model,
            timeout=timeout, retries=retries, max_concurrency=max_concurrency,
            backoff_s=backoff_s, queue_timeout_s=queue_timeout_s,
        )

    def complete(
        self, messages: Sequence[Mapping[str, Any]], *, model: str | None = None, temperature: float = 0
    ) -> ChatResult:
        messages = checked_messages(messages)
        model = model or self.model
        result = self._post(
            "/v1/chat/completions",
            {"model": model, "messages": messages, "temperature": temperature, "stream": False},
        )
        body = result.json
        url = display_url(f"{self.base_url}/v1/chat/completions")
        try:
            text = body["choices"][0]["message"]["content"]
        except (KeyError, IndexError, TypeError):
            text = None
        if not isinstance(text, str):
            raise ProviderResponseError(f"{url} answered without choices[0].message.content", url=url)
        usage = body.get("usage") if isinstance(body.get("usage"), dict) else {}
        return _result(
            text, body.get("model") or model, messages, result,
            usage.get("prompt_tokens"), usage.get("completion_tokens"),
        )


class OllamaChat(_HTTPChat):
    """POST {base}/api/chat {"model", "messages", "stream": false} on Ollama's native API."""

    name = "ollama"

    def __init__(
        self,
        base_url: str,
        model: str = DEFAULT_OLLAMA_CHAT_MODEL,
        timeout: float = 60.0,
        retries: int = 3,
        max_concurrency: int = 4,
        *,
        backoff_s: float = 0.25,
        queue_timeout_s: float | None = None,
    ) -> None:
        super().__init__(
            normalise_base_url(base_url), api_key=None, model=model, timeout=timeout,
            retries=retries, max_concurrency=max_concurrency, backoff_s=backoff_s,
            queue_timeout_s=queue_timeout_s,
        )

    def complete(
        self, messages: Sequence[Mapping[str, Any]], *, model: str | None = None, temperature: float = 0
    ) -> ChatResult:
        messages = checked_messages(messages)
        model = model or self.model
        result = self._post(
            "/api/chat",
            {"model": model, "messages": messages, "stream": False, "options": {"temperature": temperature}},
        )
        body = result.json
        url = display_url(f"{self.base_url}/api/chat")
        message = body.get("message")
        text = message.get("content") if isinstance(message, dict) else None
        if not isinstance(text, str):
            raise ProviderResponseError(f"{url} answered without message.content", url=url)
        # Ollama omits prompt_eval_count when the whole prompt came from its KV cache.
        return _result(
            text, body.get("model") or model, messages, result,
            body.get("prompt_eval_count"), body.get("eval_count"),
        )


def checked_messages(messages: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    checked = [dict(message) for message in messages]
    if not checked:
        raise ValueError("chat needs at least one message")
    for message in checked:
        if not isinstance(message.get("role"), str) or "content" not in message:
            raise ValueError("each chat message needs a 'role' and a 'content'")
    return checked


def _result(
    text: str,
    model: str,
    messages: list[dict[str, Any]],
    post: PostResult,
    prompt_tokens: Any,
    completion_tokens: Any,
) -> ChatResult:
    estimated = not (isinstance(prompt_tokens, int) and isinstance(completion_tokens, int))
    if not isinstance(prompt_tokens, int):
        prompt_tokens = estimate_tokens("".join(content_text(m.get("content")) for m in messages))
    if not isinstance(completion_tokens, int):
        completion_tokens = estimate_tokens(text)
    return ChatResult(
        text=text,
        model=str(model),
        prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens,
        latency_ms=post.latency_ms,
        attempts=post.attempts,
        tokens_estimated=estimated,
    )


def content_text(content: Any) -> str:
    """Message content as text; OpenAI also allows a list of {"type": "text", "text"} parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(
            part.get("text", "") for part in content if isinstance(part, dict) and part.get("type") == "text"
        )
    return "" if content is None else str(content)


# --------------------------------------------------------------------------------------------------
# Factory
# --------------------------------------------------------------------------------------------------

# Providers that live outside this package register themselves here (the offline drafter knows workers
# and orders, so it lives with replay: apps/replay/local_drafter.py, registered by ReplayConfig.ready).
_REGISTERED: dict[str, Callable[[str | None], ChatProvider]] = {}


def register_chat_provider(name: str, factory: Callable[[str | None], ChatProvider]) -> None:
    """Make `build_chat_provider(name, model=...)` call `factory(model)`."""
    _REGISTERED[name] = factory


def build_chat_provider(
    provider: str,
    *,
    base_url: str | None = None,
    api_key: str | None = None,
    model: str | None = None,
    timeout: float = 60.0,
    retries: int = 3,
    max_concurrency: int = 4,
) -> ChatProvider:
    """The chat provider for CHAT_PROVIDER; `model=None` picks the provider's default.

    Raises ValueError for an unknown provider or a missing base URL.
    """
    kind = (provider or "").strip().lower()
    if kind in _REGISTERED:
        return _REGISTERED[kind](model)
    if kind in ("openai", "ollama") and not base_url:
        raise ValueError(f"CHAT_PROVIDER={kind} needs a base URL")
    if kind == "openai":
        return OpenAIChat(
            base_url, api_key=api_key, model=model or DEFAULT_OPENAI_CHAT_MODEL, timeout=timeout,
            retries=retries, max_concurrency=max_concurrency,
        )
    if kind == "ollama":
        return OllamaChat(
            base_url, model=model or DEFAULT_OLLAMA_CHAT_MODEL, timeout=timeout, retries=retries,
            max_concurrency=max_concurrency,
        )
    known = sorted(set(HTTP_CHAT_PROVIDERS) | set(_REGISTERED))
    raise ValueError(f"unknown chat provider {provider!r}; expected one of {', '.join(known)}")
