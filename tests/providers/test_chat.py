"""Chat providers against a real local server, and the deterministic LocalChat drafter."""

from __future__ import annotations

import json
import math
import re
import threading
import time

import pytest

from apps.providers.chat import (
    SMS_MAX_CHARS,
    LocalChat,
    OllamaChat,
    OpenAIChat,
    build_chat_provider,
)
from apps.providers.errors import ProviderError, ProviderResponseError, ProviderUnavailable
from tests.providers.model_server import Behaviour, ModelServer

MESSAGES = [
    {"role": "system", "content": "You draft staffing messages."},
    {"role": "user", "content": "Draft an SMS for Ana."},
]

# GSM 03.38 basic character set (the extension table's characters count double, so none allowed).
GSM7_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    "ÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
SSN_LIKE = re.compile(r"(?<![\d-])\d{3}[- ]?\d{2}[- ]?\d{4}(?![\d-])")


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


# --- LocalChat --------------------------------------------------------------------------------------


def candidate(worker_id: str, **fields) -> dict:
    base = {
        "worker_id": worker_id, "first_name": "Ana", "city": "Columbus", "state": "OH",
        "role": "forklift_operator", "certifications": ["OSHA-10", "Forklift"],
        "shift_preference": ["night"], "available_from": None, "status": "active", "sms_opt_out": False,
    }
    return base | fields


ORDER = {
    "city": "Columbus", "state": "OH", "role": "forklift_operator", "headcount": 2, "shift": "night",
    "start_date": "2026-12-01", "required_certifications": ["OSHA-10"],
}


def ask(task_type: str, task: dict, context: dict, chat: LocalChat | None = None) -> str:
    messages = [
        {"role": "system", "content": "You are the agency's drafter."},
        {"role": "user", "content": json.dumps({"task_type": task_type, "task": task, "context": context})},
    ]
    return (chat or LocalChat()).complete(messages).text


def test_local_sms_fits_one_segment_with_opt_out() -> None:
    text = ask("draft_sms", {"worker_id": "W-1"}, {"candidates": [candidate("W-1")], "order": ORDER})

    assert text == (
        "Hi Ana, forklift operator night shift in Columbus starting 2026-12-01. "
        "Questions? Call 555-123-4567. Reply STOP to opt out"
    )
    assert len(text) <= SMS_MAX_CHARS and "STOP" in text


def test_local_sms_truncates_long_fields_and_stays_gsm7() -> None:
    long = candidate(
        "W-2",
        first_name="Maximiliana-Evangelina Łucja 123-45-6789",
        city="Llanfairpwllgwyngyllgogerychwyrndrobwllllantysiliogogogoch",
        role="senior_industrial_refrigeration_maintenance_technician_{{level}}",
    )
    text = ask("draft_sms", {}, {"candidates": [long], "order": {"shift": "night", "start_date": "2026-12-01"}})

    assert len(text) <= SMS_MAX_CHARS
    assert text.endswith("Reply STOP to opt out")
    assert set(text) <= GSM7_BASIC
    assert not SSN_LIKE.search(text.replace("555-123-4567", ""))
    assert "{" not in text and text.startswith("Hi Maximiliana")


def test_local_email_is_json_without_placeholders() -> None:
    context = {"candidates": [candidate("W-1", first_name="Bo {x}")], "order": ORDER}
    text = ask("draft_email", {"worker_id": "W-1"}, context)

    email = json.loads(text)
    assert set(email) == {"subject", "body"}
    assert email["subject"] == "Forklift operator night shift in Columbus, OH starting 2026-12-01"
    assert email["body"].startswith("Hi Bo x,")
    assert "Required certifications: OSHA-10." in email["body"]
    assert "555-123-4567" in email["body"]
    assert not re.search(r"\{|\}|\[|\]|<|>|%s", email["body"] + email["subject"])


def test_local_propose_fill_picks_matching_active_candidates() -> None:
    candidates = [
        candidate("W-inactive", status="inactive"),
        candidate("W-denver", city="Denver", state="CO"),
        candidate("W-day", shift_preference=["day"]),
        candidate("W-nocert", certifications=["Forklift"]),
        candidate("W-late", available_from="2027-01-01"),
        candidate("W-ok-1"),
        candidate("W-ok-2", available_from="2026-11-15"),
        candidate("W-ok-3"),
    ]
    answer = json.loads(ask("propose_fill", {"order": ORDER}, {"candidates": candidates}))
    assert answer == {"worker_ids": ["W-ok-1", "W-ok-2"]}


def test_local_propose_fill_tops_up_with_first_candidates() -> None:
    candidates = [candidate("W-a", city="Denver"), candidate("W-b", status="inactive"), candidate("W-fit")]
    answer = json.loads(ask("propose_fill", {}, {"candidates": candidates, "order": ORDER | {"headcount": 2}}))
    assert answer == {"worker_ids": ["W-fit", "W-a"]}


def test_local_chat_masks_personal_data() -> None:
    text = ask("chat", {"message": "Is 123-45-6789 or ana@example.com on file? Call 614 555 0199"}, {})
    assert "123-45-6789" not in text and "ana@example.com" not in text and "0199" not in text
    assert text.startswith("Offline answer from the local drafter")

    plain = LocalChat().complete([{"role": "user", "content": "how many forklift operators in Ohio?"}])
    assert "how many forklift operators in Ohio?" in plain.text


def test_local_chat_is_deterministic_and_estimates_tokens() -> None:
    context = {"candidates": [candidate("W-1"), candidate("W-2", first_name="Li")], "order": ORDER}
    messages = [{"role": "user", "content": json.dumps({"task_type": "draft_sms", "task": {}, "context": context})}]

    first = LocalChat().complete(messages)
    second = LocalChat().complete(messages)

    assert first.text == second.text
    assert first.prompt_tokens == math.ceil(len(messages[0]["content"]) / 4)
    assert first.completion_tokens == math.ceil(len(first.text) / 4)
    assert first.tokens_estimated and first.attempts == 1 and first.model == "local-drafter-v1"


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
