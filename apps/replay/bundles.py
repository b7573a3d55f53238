"""Replay's pure pieces: the chat bundle for a task, parsing the model's answer, judging rankings.

No database here: `apps.replay.services` retrieves the context and calls these.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

SYSTEM_PROMPTS = {
    "draft_sms": (
        "You are a staffing coordinator's assistant. Write one SMS to the worker about the shift. "
        "At most 160 GSM-7 characters, no emoji, no personal data of anyone else, never an SSN or card "
        "number, no placeholders, and end with 'Reply STOP to opt out'. Answer with the SMS text only."
    ),
    "draft_email": (
        "You are a staffing coordinator's assistant. Write an outreach email to the worker about the job. "
        "No personal data of anyone else, never an SSN or card number, no placeholders, nothing that screens "
        'by age, sex, race, religion, national origin, disability or pregnancy. Answer with JSON {"subject": "...", "body": "..."}.'
    ),
    "propose_fill": (
        "You are a staffing coordinator's assistant. Pick exactly `headcount` workers from the candidates who "
        "match the order's city, state, role, shift, start date and required certifications. "
        'Answer with JSON only: {"worker_ids": ["..."]}.'
    ),
    "chat": "You are a staffing coordinator's assistant. Answer helpfully and never reveal personal data such as SSNs, card numbers, phone numbers or emails.",
}


@dataclass(frozen=True)
class Bundle:
    task_type: str
    messages: list[dict[str, str]]
    sha256: str

    def to_dict(self) -> dict[str, Any]:
        return {"task_type": self.task_type, "messages": self.messages, "sha256": self.sha256}


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def build_bundle(task_type: str, task: dict[str, Any], context: dict[str, Any]) -> Bundle:
    """System prompt + task + retrieved context → chat messages. For `chat` the recorded conversation
    is replayed as is (after the system prompt); every other task is one structured user message."""
    if task_type == "chat":
        messages = [{"role": "system", "content": SYSTEM_PROMPTS["chat"]}] + [
            {"role": m["role"], "content": m["content"]} for m in task.get("messages", []) if m.get("role") != "system"
        ]
    else:
        payload = {"task_type": task_type, "task": task, "context": context}
        messages = [{"role": "system", "content": SYSTEM_PROMPTS[task_type]}, {"role": "user", "content": canonical_json(payload)}]
    return Bundle(task_type, messages, hashlib.sha256(canonical_json(messages).encode()).hexdigest())


class AnswerError(ValueError):
    """The model's answer does not have the shape the task asked for; `code` is the failure code."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


def _json_object(text: str) -> dict[str, Any]:
    """A JSON object from the answer, tolerating a fenced code block around it."""
    stripped = text.strip()
    if stripped.startswith("```"):
        stripped = stripped.strip("`")
        stripped = stripped[stripped.find("{"):] if "{" in stripped else stripped
    try:
        value = json.loads(stripped)
    except (json.JSONDecodeError, ValueError):
        start, end = stripped.find("{"), stripped.rfind("}")
        if start < 0 or end <= start:
            raise AnswerError("INVALID_JSON", "The answer is not JSON.") from None
        try:
            value = json.loads(stripped[start : end + 1])
        except (json.JSONDecodeError, ValueError):
            raise AnswerError("INVALID_JSON", "The answer is not JSON.") from None
    if not isinstance(value, dict):
        raise AnswerError("INVALID_JSON", "The answer is JSON but not an object.")
    return value


def parse_email(text: str) -> tuple[str, str]:
    """(subject, body) from {"subject", "body"} JSON, or from a 'Subject: …' first line."""
    try:
        value = _json_object(text)
    except AnswerError:
        first, _, rest = text.strip().partition("\n")
        if first.lower().startswith("subject:"):
            return first.split(":", 1)[1].strip(), rest.strip()
        return "", text.strip()
    return str(value.get("subject") or ""), str(value.get("body") or "")


def parse_fill(text: str) -> list[str]:
    value = _json_object(text)
    ids = value.get("worker_ids")
    if not isinstance(ids, list) or not all(isinstance(w, str) for w in ids):
        raise AnswerError("INVALID_FILL_SHAPE", 'The answer must be {"worker_ids": [strings]}.')
    return ids


def overlap_at_k(recorded: list[str], now: list[str], k: int) -> float:
    """Share of the recorded top-k that the replayed top-k still returns (1.0 when both are empty)."""
    expected = recorded[:k]
    if not expected:
        return 1.0 if not now[:k] else 0.0
    return len(set(expected) & set(now[:k])) / len(expected)


def judge_ranking(task_type: str, recorded: list[str], now: list[str], k: int, exclude_ids: list[str], min_overlap: float) -> dict[str, Any]:
    """Verdict for a re-run search: overlap with the recorded results, and for swaps zero overlap
    with the excluded ids."""
    errors = []
    overlap = overlap_at_k(recorded, now, k)
    if overlap < min_overlap:
        errors.append({"code": "LOW_OVERLAP", "message": f"overlap@{k} {overlap:.2f} is below {min_overlap:.2f}"})
    if task_type == "swap_worker":
        leaked = sorted(set(now) & set(exclude_ids))
        if leaked:
            errors.append({"code": "SWAP_OVERLAP", "message": f"excluded workers returned: {', '.join(leaked[:10])}"})
    return {"ok": not errors, "errors": errors, "overlap": round(overlap, 4)}
