"""Chat providers against a real local server, and the factory (with the drafter that replay registers)."""

from __future__ import annotations

import math
import threading
import time

import pytest

from apps.providers.chat import OllamaChat, OpenAIChat, build_chat_provider
from apps.replay.local_drafter import LocalChat
from apps.providers.errors import ProviderError, ProviderResponseError, ProviderUnavailable
from tests.providers.model_server import Behaviour, ModelServer

MESSAGES = [
    {"role": "system", "content": "You draft staffing messages."},
    {"role": "user", "content": "Draft an SMS for Ana."},
]

# --- HTTP chat providers ----------------------------------------------------------------------------


def test_openai_chat_round_trip() -> None:
    with ModelServer(api_key="sk-chat-key") as server:
        chat = OpenAIChat(server.url, api_key="sk-chat-key", model="llama3.2")

        result = chat.complete(MESSAGES)

        assert result.text == "echo: Draft an SMS for Ana."
        assert result.model == "llama3.2"
        assert result.prompt_tokens == math.ceil(len("You draft staffing messages.Draft an SMS for Ana.") / 4)
        assert result.completion_tokens == math.ceil(len(result.text) / 4)
        assert not result.tokens_estimated
        assert result.attempts == 1 and result.latency_ms > 0
        request = server.requests[0]
        assert request.path == "/v1/chat/completions"
        assert request.json == {"model": "llama3.2", "messages": MESSAGES, "temperature": 0, "stream": False}
        assert request.headers["authorization"] == "Bearer sk-chat-key"
        assert "sk-chat-key" not in repr(chat) and "sk-chat-key" not in repr(result)


def test_ollama_chat_round_trip_with_model_override(model_server: ModelServer) -> None:
    model_server.chat_reply = lambda messages, model: f"{model} says hi"
    chat = OllamaChat(model_server.url, model="llama3.2")

    result = chat.complete(MESSAGES, model="qwen2.5", temperature=0.3)

    assert result.text == "qwen2.5 says hi" and result.model == "qwen2.5"
    assert result.completion_tokens == math.ceil(len("qwen2.5 says hi") / 4)
    request = model_server.requests[0]
    assert request.path == "/api/chat"
    assert request.json == {
        "model": "qwen2.5", "messages": MESSAGES, "stream": False, "options": {"temperature": 0.3},
    }


def test_chat_500_retries_then_unavailable(model_server: ModelServer) -> None:
    model_server.enqueue(*[Behaviour.status(500, "CUDA out of memory")] * 3)
    chat = OpenAIChat(model_server.url, model="m", retries=2, backoff_s=0.01)

    with pytest.raises(ProviderUnavailable) as raised:
        chat.complete(MESSAGES)

    assert len(model_server.requests) == 3
    message = str(raised.value)
    assert "/v1/chat/completions" in message and "3 attempt" in message and "CUDA out of memory" in message


def test_chat_timeout_is_unavailable(model_server: ModelServer) -> None:
    model_server.enqueue(Behaviour.slow(2.0))
    chat = OllamaChat(model_server.url, timeout=0.2, retries=0)

    with pytest.raises(ProviderUnavailable, match="timed out"):
        chat.complete(MESSAGES)


def test_chat_429_waits_for_retry_after_then_succeeds(model_server: ModelServer) -> None:
    model_server.enqueue(Behaviour.rate_limited(retry_after="1"))
    chat = OpenAIChat(model_server.url, model="m", backoff_s=0.01)

    started = time.perf_counter()
    result = chat.complete(MESSAGES)
    elapsed = time.perf_counter() - started

    assert result.attempts == 2
    assert elapsed >= 1.0 and result.latency_ms >= 1000  # the server's 1 s, not the 0.01 s backoff


def test_chat_server_down_is_unavailable() -> None:
    server = ModelServer().start()
    url = server.url
    server.stop()

    with pytest.raises(ProviderUnavailable, match="ConnectError"):
        OpenAIChat(url, model="m", retries=1, backoff_s=0.01).complete(MESSAGES)


def test_chat_malformed_answer_is_a_response_error(model_server: ModelServer) -> None:
    model_server.enqueue(Behaviour.not_json())
    with pytest.raises(ProviderResponseError):
        OpenAIChat(model_server.url, model="m").complete(MESSAGES)


def test_unknown_model_is_a_provider_error_not_unavailable() -> None:
    with ModelServer(models={"llama3.2"}) as server:
        with pytest.raises(ProviderError) as raised:
            OllamaChat(server.url, model="nope").complete(MESSAGES)
    assert not isinstance(raised.value, ProviderUnavailable)
    assert 'model "nope" not found' in str(raised.value)


def test_concurrency_limit_per_provider(model_server: ModelServer) -> None:
    model_server.enqueue(*[Behaviour.slow(0.2)] * 6)
    chat = OpenAIChat(model_server.url, model="m", max_concurrency=2)
    results, errors = [], []

    def call() -> None:
        try:
            results.append(chat.complete(MESSAGES))
        except Exception as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=call) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == [] and len(results) == 6
    assert model_server.max_in_flight == 2


def test_saturated_provider_is_unavailable(model_server: ModelServer) -> None:
    model_server.enqueue(Behaviour.held())  # holds the only slot until released: no race with the clock
    chat = OpenAIChat(model_server.url, model="m", max_concurrency=1, queue_timeout_s=0.05)
    busy = threading.Thread(target=chat.complete, args=(MESSAGES,))
    busy.start()
    wait_until(lambda: model_server.in_flight == 1)

    try:
        with pytest.raises(ProviderUnavailable, match="saturated"):
            chat.complete(MESSAGES)
    finally:
        model_server.release_held()
        busy.join()


def wait_until(condition, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.01)


# --- factory ----------------------------------------------------------------------------------------


def test_build_chat_provider() -> None:
    assert isinstance(build_chat_provider("local"), LocalChat)
    openai = build_chat_provider(
        "openai", base_url="http://127.0.0.1:11434/v1", api_key="sk-secret", model="llama3.2",
        timeout=5, retries=1, max_concurrency=3,
    )
    assert isinstance(openai, OpenAIChat)
    assert (openai.base_url, openai.model, openai.retries, openai.max_concurrency) == (
        "http://127.0.0.1:11434", "llama3.2", 1, 3,
    )
    assert "sk-secret" not in repr(openai) and "sk-secret" not in repr(vars(openai).get("model"))
    assert isinstance(build_chat_provider("ollama", base_url="http://127.0.0.1:11434"), OllamaChat)
    with pytest.raises(ValueError, match="unknown chat provider"):
        build_chat_provider("gpt", base_url="http://x")
    with pytest.raises(ValueError, match="base URL"):
        build_chat_provider("openai")
