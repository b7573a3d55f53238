"""Chat providers behind one interface: `ChatProvider.complete(messages) -> ChatResult`.

`OpenAIChat` talks to any OpenAI-compatible server (Ollama serves one), `OllamaChat` to Ollama's
native API, and `LocalChat` is a deterministic offline drafter so replay and the load harness run
without a model server. HTTP providers share `post_json` (timeouts, retries, backoff) and cap
their in-flight requests per provider instance. Results and errors never contain API keys.
"""

from __future__ import annotations

import json
import math
import re
import threading
import time
import unicodedata
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from apps.providers.errors import ProviderResponseError, ProviderUnavailable
from apps.providers.http import HTTPProvider, PostResult, display_url, normalise_base_url

CHAT_PROVIDERS = ("openai", "ollama", "local")
DEFAULT_OPENAI_CHAT_MODEL = "gpt-4o-mini"
DEFAULT_OLLAMA_CHAT_MODEL = "llama3.2"
LOCAL_CHAT_MODEL = "local-drafter-v1"
DEFAULT_AGENCY_PHONE = "555-123-4567"
DEFAULT_AGENCY_NAME = "Lakehouse Staffing"
SMS_MAX_CHARS = 160


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


def estimate_tokens(text: str) -> int:
    """The usual rough count for English text: one token per four characters, rounded up."""
    return math.ceil(len(text) / 4)


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
        messages = _checked_messages(messages)
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
        messages = _checked_messages(messages)
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


def _checked_messages(messages: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
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
        prompt_tokens = estimate_tokens("".join(_content_text(m.get("content")) for m in messages))
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


def _content_text(content: Any) -> str:
    """Message content as text; OpenAI also allows a list of {"type": "text", "text"} parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(
            part.get("text", "") for part in content if isinstance(part, dict) and part.get("type") == "text"
        )
    return "" if content is None else str(content)


# --------------------------------------------------------------------------------------------------
# LocalChat: the deterministic offline drafter
# --------------------------------------------------------------------------------------------------


class LocalChat(ChatProvider):
    """Deterministic drafts without a model server, for replay and the load harness.

    Input contract — the last user message is a JSON object:
    {"task_type": ..., "task": {...}, "context": {"candidates": [worker dicts], "order": {...}?}}
    (worker dicts: worker_id, first_name, city, state, role, certifications, shift_preference,
    available_from, status, sms_opt_out). The order may also sit at task["order"]; a draft goes to
    the candidate named by task["worker_id"], else the first candidate.

    - draft_sms    → plain text, ≤ 160 GSM-7 characters, ends "Reply STOP to opt out".
    - draft_email  → JSON text {"subject", "body"}; only the agency's phone number, no placeholders.
    - propose_fill → JSON text {"worker_ids": [...]}: `headcount` active candidates that fit the
                     order's city/state/role/certifications/shift/start date, topped up with the
                     first remaining candidates when too few fit.
    - chat (or a message that is not such JSON) → a short answer echoing the question with
      numbers and emails masked.

    Same input, same output, on every machine. Token counts are ceil(chars / 4) estimates.
    """

    name = "local"

    def __init__(
        self,
        model: str = LOCAL_CHAT_MODEL,
        *,
        agency_phone: str = DEFAULT_AGENCY_PHONE,
        agency_name: str = DEFAULT_AGENCY_NAME,
    ) -> None:
        self.model = model
        self.agency_phone = agency_phone
        self.agency_name = agency_name

    def complete(
        self, messages: Sequence[Mapping[str, Any]], *, model: str | None = None, temperature: float = 0
    ) -> ChatResult:
        started = time.perf_counter()
        messages = _checked_messages(messages)
        last_user = next(
            (_content_text(m.get("content")) for m in reversed(messages) if m.get("role") == "user"), ""
        )
        task_type, task, context = _parse_task(last_user)
        if task_type == "draft_sms":
            text = self.draft_sms(task, context)
        elif task_type == "draft_email":
            text = self.draft_email(task, context)
        elif task_type == "propose_fill":
            text = self.propose_fill(task, context)
        elif task_type == "chat":
            text = self.answer(_question(task))
        elif task_type == "chat_text":
            text = self.answer(last_user)
        else:
            text = (
                "Offline answer from the local drafter: there is no offline draft for task type "
                f'"{_masked_summary(task_type, limit=40)}".'
            )
        prompt_chars = "".join(_content_text(m.get("content")) for m in messages)
        return ChatResult(
            text=text,
            model=model or self.model,
            prompt_tokens=estimate_tokens(prompt_chars),
            completion_tokens=estimate_tokens(text),
            latency_ms=(time.perf_counter() - started) * 1000.0,
            attempts=1,
            tokens_estimated=True,
        )

    def draft_sms(self, task: Mapping[str, Any], context: Mapping[str, Any]) -> str:
        """An SMS that always fits one GSM-7 segment and carries the opt-out line."""
        details = _job_details(task, context)
        fields = {
            "first_name": _sms_safe(details["first_name"]) or "there",
            "role": _sms_safe(details["role"]),
            "city": _sms_safe(details["city"]),
        }
        shift = _sms_safe(details["shift"])
        start = details["start"]  # an ISO date or "", digits only in the YYYY-MM-DD shape
        phone = _sms_safe_phone(self.agency_phone)

        def render(with_phone: bool = True) -> str:
            job = " ".join(part for part in (fields["role"] or "open", shift, "shift") if part)
            where = f" in {fields['city']}" if fields["city"] else ""
            when = f" starting {start}" if start else ""
            if not (where or when):
                when = " available"
            call = f" Questions? Call {phone}." if with_phone and phone else ""
            return f"Hi {fields['first_name']}, {job}{where}{when}.{call} Reply STOP to opt out"

        text = render()
        # Shorten the longest free-text field one character at a time: deterministic, and it keeps
        # every field recognisable instead of dropping one wholesale.
        while len(text) > SMS_MAX_CHARS and any(len(value) > 3 for value in fields.values()):
            longest = max(fields, key=lambda name: len(fields[name]))
            fields[longest] = fields[longest][:-1].rstrip()
            text = render()
        if len(text) > SMS_MAX_CHARS:  # only an absurdly long agency phone gets here
            text = render(with_phone=False)
        return text

    def draft_email(self, task: Mapping[str, Any], context: Mapping[str, Any]) -> str:
        """JSON text {"subject", "body"} for an outreach email."""
        details = _job_details(task, context)
        first_name = _text_safe(details["first_name"]) or "there"
        role = _text_safe(details["role"])
        shift = _text_safe(details["shift"])
        location = ", ".join(p for p in (_text_safe(details["city"]), _text_safe(details["state"])) if p)
        start = details["start"]
        certifications = [c for c in (_text_safe(c) for c in details["certifications"]) if c]

        job = " ".join(part for part in (role or "open", shift, "shift") if part)
        subject = " ".join(
            part for part in (job[:1].upper() + job[1:], f"in {location}" if location else "",
                              f"starting {start}" if start else "") if part
        )[:120]
        opening = f"We have a new opening: {job}"
        opening += f" in {location}" if location else ""
        opening += f", starting {start}." if start else "."
        lines = [f"Hi {first_name},", "", opening]
        if certifications:
            lines.append(f"Required certifications: {', '.join(certifications)}.")
        lines += [
            "Your experience looks like a good fit for this role.",
            "",
            f"If you are interested, reply to this email or call us at {self.agency_phone}.",
            "",
            "Thank you,",
            self.agency_name,
        ]
        return json.dumps({"subject": subject, "body": "\n".join(lines)}, ensure_ascii=False)

    def propose_fill(self, task: Mapping[str, Any], context: Mapping[str, Any]) -> str:
        """JSON text {"worker_ids": [...]} with `headcount` distinct candidate ids."""
        order = _order(task, context)
        headcount = max(1, _int(order.get("headcount", task.get("headcount")), default=1))
        excluded = {str(i) for i in task.get("exclude_ids") or []}
        candidates = [
            c for c in _candidates(context) if c.get("worker_id") and str(c["worker_id"]) not in excluded
        ]
        picked: list[str] = []
        fitting = [c for c in candidates if _fits_order(c, order)]
        for candidate in fitting + candidates:  # fitting ones first, then top up in retrieval order
            worker_id = str(candidate["worker_id"])
            if worker_id not in picked:
                picked.append(worker_id)
            if len(picked) == headcount:
                break
        return json.dumps({"worker_ids": picked})

    def answer(self, question: str) -> str:
        """A short offline answer that echoes the question with anything personal masked."""
        summary = _masked_summary(question) or "an empty message"
        return (
            f'Offline answer from the local drafter: you asked "{summary}". No chat model is '
            "configured, so no detailed answer is available."
        )


def _parse_task(content: str) -> tuple[str, dict[str, Any], dict[str, Any]]:
    try:
        payload = json.loads(content)
    except (TypeError, ValueError):
        return "chat_text", {}, {}
    if not isinstance(payload, dict) or not isinstance(payload.get("task_type"), str):
        return "chat_text", {}, {}
    task = payload.get("task") if isinstance(payload.get("task"), dict) else {}
    context = payload.get("context") if isinstance(payload.get("context"), dict) else {}
    return payload["task_type"], task, context


def _question(task: Mapping[str, Any]) -> str:
    """The question inside a structured chat task: its own last user message, else a text field."""
    messages = task.get("messages")
    if isinstance(messages, list):
        for message in reversed(messages):
            if isinstance(message, dict) and message.get("role") == "user":
                return _content_text(message.get("content"))
    for field in ("message", "question", "prompt", "text"):
        if isinstance(task.get(field), str):
            return task[field]
    return ""


def _candidates(context: Mapping[str, Any]) -> list[dict[str, Any]]:
    candidates = context.get("candidates")
    return [c for c in candidates if isinstance(c, dict)] if isinstance(candidates, list) else []


def _order(task: Mapping[str, Any], context: Mapping[str, Any]) -> dict[str, Any]:
    for order in (context.get("order"), task.get("order")):
        if isinstance(order, dict):
            return order
    return {}


def _job_details(task: Mapping[str, Any], context: Mapping[str, Any]) -> dict[str, Any]:
    """Who the draft is for and what job it is about; the order wins over the worker's profile."""
    candidates = _candidates(context)
    worker_id = task.get("worker_id")
    recipient = next((c for c in candidates if worker_id and c.get("worker_id") == worker_id), None)
    if recipient is None:
        recipient = task.get("worker") if isinstance(task.get("worker"), dict) else None
    if recipient is None:
        recipient = candidates[0] if candidates else {}
    order = _order(task, context)

    def pick(field: str, *sources: Mapping[str, Any]) -> Any:
        return next((s.get(field) for s in sources if s.get(field)), None)

    start = _iso_date(pick("start_date", order, task)) or _iso_date(recipient.get("available_from"))
    certifications = pick("required_certifications", order, task) or []
    return {
        "first_name": str(recipient.get("first_name") or ""),
        "role": str(pick("role", order, task, recipient) or "").replace("_", " "),
        "shift": str(pick("shift", order, task) or ""),
        "city": str(pick("city", order, task, recipient) or ""),
        "state": str(pick("state", order, task, recipient) or ""),
        "start": start,
        "certifications": [str(c) for c in certifications] if isinstance(certifications, list) else [],
    }


def _fits_order(candidate: Mapping[str, Any], order: Mapping[str, Any]) -> bool:
    """The FillValidator's rules, applied to the candidate's own data."""
    if str(candidate.get("status") or "active").lower() != "active":
        return False
    for field in ("city", "state"):
        wanted = order.get(field)
        if wanted and str(candidate.get(field) or "").strip().lower() != str(wanted).strip().lower():
            return False
    if order.get("role") and _role_key(candidate.get("role")) != _role_key(order["role"]):
        return False
    held = {str(c).strip().lower() for c in candidate.get("certifications") or []}
    required = {str(c).strip().lower() for c in order.get("required_certifications") or []}
    if not required <= held:
        return False
    shift = order.get("shift")
    if shift and str(shift).lower() not in {str(s).lower() for s in candidate.get("shift_preference") or []}:
        return False
    start, available = _iso_date(order.get("start_date")), _iso_date(candidate.get("available_from"))
    return not (start and available and available > start)  # ISO dates compare as strings


def _role_key(role: Any) -> str:
    return "_".join(str(role or "").lower().replace("-", " ").split())


def _iso_date(value: Any) -> str:
    """YYYY-MM-DD for a date, datetime or ISO string; "" when absent or unparseable."""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip()[:10]).isoformat()
        except ValueError:
            return ""
    return ""


def _int(value: Any, *, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _ascii(value: str) -> str:
    decomposed = unicodedata.normalize("NFKD", value)
    return decomposed.encode("ascii", "ignore").decode("ascii")


_SMS_UNSAFE = re.compile(r"[^A-Za-z .'\-]+")
_TEXT_UNSAFE = re.compile(r"[{}\[\]<>%|\\^~`]+")  # template and placeholder syntax
_LONG_NUMBER = re.compile(r"\d[\d\s().\-/]{5,}\d")  # 7+ chars of digits: phones, SSNs, cards


def _sms_safe(value: str) -> str:
    """Letters, spaces and . ' - only: always GSM-7 basic characters, never a number that could
    read as an SSN or another worker's phone."""
    return " ".join(_SMS_UNSAFE.sub(" ", _ascii(value)).split())


def _sms_safe_phone(phone: str) -> str:
    return "".join(ch for ch in _ascii(phone) if ch.isdigit() or ch in " +-().")


def _text_safe(value: str) -> str:
    """Free text for an email: no template syntax, no long digit runs."""
    return " ".join(_LONG_NUMBER.sub(" ", _TEXT_UNSAFE.sub(" ", value)).split())


_EMAIL = re.compile(r"[\w.+\-]+@[\w\-]+(?:\.[\w\-]+)+")
_ANY_NUMBER_RUN = re.compile(r"\+?\d[\d\s().\-/]*\d|\d")


_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _mask_number(match: re.Match[str]) -> str:
    number = match.group()
    if _ISO_DATE.fullmatch(number) or sum(ch.isdigit() for ch in number) < 5:
        return number
    return "***"


def _masked_summary(text: str, limit: int = 120) -> str:
    text = _EMAIL.sub("***", text)
    # Mask numbers with 5+ digits (phones, SSNs, cards, zip+4); counts and ISO dates stay.
    text = _ANY_NUMBER_RUN.sub(_mask_number, text)
    text = " ".join(_TEXT_UNSAFE.sub(" ", text).replace('"', "'").split())
    return text if len(text) <= limit else text[: limit - 3].rstrip() + "..."


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
    if kind == "local":
        return LocalChat(model or LOCAL_CHAT_MODEL)
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
    raise ValueError(f"unknown chat provider {provider!r}; expected one of {', '.join(CHAT_PROVIDERS)}")
