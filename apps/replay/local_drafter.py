"""The deterministic offline drafter: a chat provider that answers replay's tasks without a model server.

It knows workers and orders, so it lives with replay (not in the generic providers package) and
registers itself as chat provider "local" (ReplayConfig.ready). It picks fill candidates with the real
FillValidator and masks chat echoes with the real PII masker, so it can never disagree with the
validators that judge its answers.
"""

from __future__ import annotations

import json
import re
import time
import unicodedata
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

from apps.core.detectors import mask_pii
from apps.providers.chat import ChatProvider, ChatResult, checked_messages, content_text
from apps.providers.tokens import estimate_tokens
from apps.validation.fill_validator import (
    LOCATION_MISMATCH,
    MISSING_CERTIFICATION,
    ROLE_MISMATCH,
    WORKER_UNAVAILABLE,
    FillValidator,
)

LOCAL_CHAT_MODEL = "local-drafter-v1"
DEFAULT_AGENCY_PHONE = "555-123-4567"
DEFAULT_AGENCY_NAME = "Lakehouse Staffing"
SMS_MAX_CHARS = 160

# The verdicts that say a worker does not fit the order itself (headcount, duplicates and bookings
# are about the whole proposal, not about one candidate).
_UNFIT = frozenset({WORKER_UNAVAILABLE, LOCATION_MISMATCH, ROLE_MISMATCH, MISSING_CERTIFICATION})


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
        messages = checked_messages(messages)
        last_user = next(
            (content_text(m.get("content")) for m in reversed(messages) if m.get("role") == "user"), ""
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
        prompt_chars = "".join(content_text(m.get("content")) for m in messages)
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
        fitting = _fitting(candidates, order)
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
                return content_text(message.get("content"))
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


def _fitting(candidates: list[dict[str, Any]], order: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The candidates the FillValidator finds fit for the order, in retrieval order. An order without a
    start date cannot be validated: then none is known to fit, and the caller tops up in order."""
    workers = {str(c["worker_id"]): c for c in candidates}
    try:
        verdict = FillValidator().validate({**order, "headcount": len(workers)}, list(workers), workers)
    except ValueError:
        return []
    unfit = {e["worker_id"] for e in verdict.errors if e["code"] in _UNFIT}
    return [c for c in candidates if str(c["worker_id"]) not in unfit]


def _masked_summary(text: str, limit: int = 120) -> str:
    """The text with template syntax dropped and personal data masked by the validators' own PII
    masker, shortened to `limit` characters."""
    text = " ".join(_TEXT_UNSAFE.sub(" ", text).replace('"', "'").split())
    text, _ = mask_pii(text)
    return text if len(text) <= limit else text[: limit - 3].rstrip() + "..."


def local_chat(model: str | None = None) -> LocalChat:
    """The factory registered as chat provider "local"."""
    return LocalChat(model or LOCAL_CHAT_MODEL)
