"""The evidence transforms (SPEC §4.7): pure functions from one source row to one evidence record.

Plain Python over plain data — no Django, no database — so the materializer, tests and replay all run
the same code. A *source* is a dict with a ``source_kind``:

* ``interaction``: the columns of an ``Interaction`` row (``id``, ``kind``, ``occurred_at``,
  ``actor``, ``request``, ``response``, ``ok``, ``errors``, ``latency_ms``, ``model``,
  ``prompt_tokens``, ``completion_tokens``); a ``feedback`` row may also carry ``target``
  (``{"kind", "request_kind"}`` of the interaction it judges, or None when that row is gone), which
  the caller looks up so the feedback record can name its target's evidence id;
* ``chat_log``: ``{"log": <one chat_log.v1 line, parsed>, "origin": {"file", "line"}}``;
* ``replay_run``: ``{"run": <one replay_run.v1 dict (SPEC §4.8)>}``.

``materialize(source)`` routes the source to one of the ten record transforms, builds the
``evidence_record.v1`` dict and applies the two enrichments (``token_accounting``, then
``pii_redaction``) to every record. All twelve are registered, with their versions, in ``REGISTRY``.
A source row a transform cannot read raises ``TransformError`` naming the field; the caller reports
it and carries on.

Determinism: ``evidence_id`` depends only on (transform, version, source kind, source id), and
``dumps`` serializes with sorted keys and fixed separators, so the same source always gives the same
bytes.
"""

from __future__ import annotations

import hashlib
import json
import math
import uuid
from dataclasses import dataclass
from functools import lru_cache
from datetime import datetime, timezone
from typing import Any, Callable

from apps.core.detectors import SECRET_MASK, find_cards, find_ssns, mask_pii, mask_secrets
from apps.interactions.scrubber import is_secret_key
from apps.providers.tokens import tokens_for_chars
from apps.validation.email_validator import PII_CARD, PII_SSN

__all__ = [
    "ENRICHMENTS",
    "RECORD_FIELDS",
    "REGISTRY",
    "SCHEMA",
    "Transform",
    "TransformError",
    "canonical_timestamp",
    "dumps",
    "evidence_id",
    "materialize",
    "route",
    "transform_for_interaction",
]

SCHEMA = "evidence_record.v1"
CHAT_LOG_SCHEMA = "chat_log.v1"
REPLAY_RUN_SCHEMA = "replay_run.v1"

#: The keys of an evidence_record.v1 dict, in the order SPEC §4.7 lists them.
RECORD_FIELDS: tuple[str, ...] = (
    "schema", "evidence_id", "day", "occurred_at", "source_kind", "source_id", "transform",
    "transform_version", "task_type", "input", "output", "model", "prompt_tokens", "completion_tokens",
    "latency_ms", "verdict", "labels", "metadata",
)

# Column limits of EvidenceRecord, checked here so one odd row fails alone instead of its whole batch.
MAX_SOURCE_ID_CHARS = 200
MAX_MODEL_CHARS = 128
MAX_TOKENS = 2**31 - 1

FEEDBACK_VERDICTS = ("accept", "reject", "edit")
REPLAY_STATUSES = ("pass", "fail", "error", "skipped")


class TransformError(ValueError):
    """A source row that a transform cannot read; the message names the offending field."""


@dataclass(frozen=True)
class Transform:
    """One registered transform. ``sources`` names what it reads (``interaction:<kind>``,
    ``chat_log``, ``replay_run``, or ``*`` for an enrichment); ``task_type`` is None for enrichments."""

    name: str
    version: int
    sources: tuple[str, ...]
    task_type: str | None
    fn: Callable[[dict[str, Any]], Any]

    @property
    def is_enrichment(self) -> bool:
        return self.task_type is None


# ----------------------------------------------------------------------------- field readers
# Small typed readers: each returns the value or raises TransformError with the field's path.


def _fail(where: str, expected: str, value: Any) -> TransformError:
    shown = repr(value)
    if len(shown) > 80:
        shown = shown[:77] + "..."
    return TransformError(f"{where} must be {expected}, got {shown}")


def _dict(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _fail(where, "an object", value)
    return value


def _list(value: Any, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise _fail(where, "a list", value)
    return value


def _str(value: Any, where: str, *, allow_empty: bool = False) -> str:
    if not isinstance(value, str) or (not allow_empty and not value.strip()):
        raise _fail(where, "a string" if allow_empty else "a non-empty string", value)
    return value


def _opt_str(value: Any, where: str) -> str | None:
    return None if value is None else _str(value, where, allow_empty=True)


def _str_list(value: Any, where: str) -> list[str]:
    items = _list(value, where)
    for index, item in enumerate(items):
        _str(item, f"{where}[{index}]")
    return items


def _bool(value: Any, where: str) -> bool:
    if not isinstance(value, bool):
        raise _fail(where, "true or false", value)
    return value


def _int(value: Any, where: str, *, minimum: int = 0, maximum: int = MAX_TOKENS) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= maximum:
        raise _fail(where, f"an integer in [{minimum}, {maximum}]", value)
    return value


def _opt_int(value: Any, where: str) -> int | None:
    return None if value is None else _int(value, where)


def _number(value: Any, where: str) -> float | int:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise _fail(where, "a finite number", value)
    return value


def _opt_number(value: Any, where: str) -> float | int | None:
    return None if value is None else _number(value, where)


def _errors(value: Any, where: str) -> list[Any]:
    """Error lists are kept as logged (validators log {"code", "message", ...} objects)."""
    return _list([] if value is None else value, where)


def _model(value: Any, where: str) -> str | None:
    """'' and None both mean "no model" (non-LLM interactions store '')."""
    if value is None or value == "":
        return None
    model = _str(value, where)
    if len(model) > MAX_MODEL_CHARS:
        raise _fail(where, f"at most {MAX_MODEL_CHARS} characters", value)
    return model


def _source_id(value: Any, where: str) -> str:
    text = str(value) if isinstance(value, uuid.UUID) else _str(value, where)
    if len(text) > MAX_SOURCE_ID_CHARS or not text.isprintable():
        raise _fail(where, f"at most {MAX_SOURCE_ID_CHARS} printable characters", value)
    if _is_uuid(text):
        return text  # opaque by construction (every interaction id): no need to look for PII in it
    if text != mask_pii(text)[0]:
        # An id that holds an SSN/phone/email cannot be masked without colliding with other ids.
        raise TransformError(f"{where} contains personal data (SSN, card, email or phone); use an opaque id")
    return text


def _is_uuid(text: str) -> bool:
    try:
        return str(uuid.UUID(text)) == text
    except ValueError:
        return False


def _timestamp(value: Any, where: str) -> datetime:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise _fail(where, "an ISO 8601 timestamp", value) from None
    if not isinstance(value, datetime):
        raise _fail(where, "a timestamp", value)
    if value.tzinfo is None or value.utcoffset() is None:
        # A naive time has no day: it would land in a partition by accident of the writer's zone.
        raise _fail(where, "a timestamp with a UTC offset", value.isoformat())
    return value.astimezone(timezone.utc)


def canonical_timestamp(moment: datetime) -> str:
    """The one text form of a time in evidence: UTC, microseconds, ``Z``."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _messages(value: Any, where: str) -> list[dict[str, str]]:
    messages = _list(value, where)
    if not messages:
        raise _fail(where, "a non-empty list of messages", value)
    out = []
    for index, message in enumerate(messages):
        message = _dict(message, f"{where}[{index}]")
        out.append(
            {
                "role": _str(message.get("role"), f"{where}[{index}].role"),
                "content": _str(message.get("content"), f"{where}[{index}].content", allow_empty=True),
            }
        )
    return out


_SSN_MASK, _CARD_MASK = mask_pii("123-45-6789")[0], mask_pii("4111 1111 1111 1111")[0]  # "[SSN]", "[CARD]"


def _answer_pii_errors(text: str | None) -> list[dict[str, str]]:
    """The EmailValidator's PII rules applied to a model's answer (SPEC §4.8: how `chat` is judged),
    found on the text as written — before pii_redaction masks it. An interaction row already had its
    SSNs and cards masked when it was logged (apps.interactions.scrubber), so a mask token counts as
    the number it replaced: the answer did contain one."""
    if not text:
        return []
    ssns = len(find_ssns(text)) + text.count(_SSN_MASK)
    cards = len(find_cards(text)) + text.count(_CARD_MASK)
    errors = [{"code": PII_SSN, "message": "Contains a US Social Security number."} for _ in range(ssns)]
    errors += [{"code": PII_CARD, "message": "Contains a payment card number."} for _ in range(cards)]
    return errors


# ------------------------------------------------------------------------------- the drafts
# Each record transform returns a *draft*: the record's source-dependent fields. `materialize` adds
# the identity fields and runs the enrichments.


def _interaction_common(source: dict[str, Any]) -> dict[str, Any]:
    return {
        "source_id": _source_id(source.get("id"), "id"),
        "occurred_at": _timestamp(source.get("occurred_at"), "occurred_at"),
        "model": _model(source.get("model"), "model"),
        "prompt_tokens": _opt_int(source.get("prompt_tokens"), "prompt_tokens"),
        "completion_tokens": _opt_int(source.get("completion_tokens"), "completion_tokens"),
        "latency_ms": _opt_number(source.get("latency_ms"), "latency_ms"),
        "verdict": {"ok": _bool(source.get("ok"), "ok"), "errors": _errors(source.get("errors"), "errors")},
        "labels": {},
        "metadata": {"actor": _opt_str(source.get("actor"), "actor") or None},
    }


def _ranking(source: dict[str, Any], *, require_exclusions: bool = False, with_memory: bool = False) -> dict[str, Any]:
    draft = _interaction_common(source)
    request = _dict(source.get("request"), "request")
    response = _dict(source.get("response"), "response")
    exclude_ids = _str_list(request.get("exclude_ids", []), "request.exclude_ids")
    if require_exclusions and not exclude_ids:
        raise _fail("request.exclude_ids", "a non-empty list for a profile swap", exclude_ids)
    results = []
    for index, result in enumerate(_list(response.get("results"), "response.results")):
        result = _dict(result, f"response.results[{index}]")
        results.append(
            {
                "worker_id": _str(result.get("worker_id"), f"response.results[{index}].worker_id"),
                "score": _number(result.get("score"), f"response.results[{index}].score"),
                "playbook_boost": _number(result.get("playbook_boost", 0.0), f"response.results[{index}].playbook_boost"),
            }
        )
    draft["input"] = {
        "query": _str(request.get("query"), "request.query"),
        "k": _int(request.get("k"), "request.k", minimum=1, maximum=10_000),
        "filters": _dict(request.get("filters", {}), "request.filters"),
        "exclude_ids": exclude_ids,
        "use_playbook": _bool(request.get("use_playbook", False), "request.use_playbook"),
    }
    draft["output"] = {"results": results}
    if with_memory:
        draft["output"]["playbooks_used"] = _list(response.get("playbooks_used", []), "response.playbooks_used")
    index = response.get("index")
    draft["metadata"]["index"] = None if index is None else _dict(index, "response.index")
    draft["metadata"]["embedding_cache"] = _opt_str(response.get("embedding_cache"), "response.embedding_cache")
    if require_exclusions:
        # SPEC §4.3: a swap never returns an excluded worker. Evidence records the breach as a failure.
        overlap = sorted({r["worker_id"] for r in results} & set(exclude_ids))
        if overlap:
            draft["verdict"] = {
                "ok": False,
                "errors": draft["verdict"]["errors"]
                + [{"code": "SWAP_OVERLAP", "message": f"Excluded workers were returned: {', '.join(overlap)}."}],
            }
    return draft


def search_session(source: dict[str, Any]) -> dict[str, Any]:
    """`search` → rank_workers: the query, filters and the ranked worker ids with scores."""
    return _ranking(source)


def profile_swap(source: dict[str, Any]) -> dict[str, Any]:
    """`profile_swap` → swap_worker: like a search, plus the excluded ids; overlap fails the verdict."""
    return _ranking(source, require_exclusions=True)


def playbook_search(source: dict[str, Any]) -> dict[str, Any]:
    """`playbook_search` → rank_workers_with_memory: a search whose scores include playbook boosts."""
    return _ranking(source, with_memory=True)


def _outreach(source: dict[str, Any], kind: str) -> dict[str, Any]:
    draft = _interaction_common(source)
    request = _dict(source.get("request"), "request")
    response = _dict(source.get("response"), "response")
    body = _str(request.get("body"), "request.body", allow_empty=True)
    draft["input"] = {"kind": kind, "worker_id": _opt_str(request.get("worker_id"), "request.worker_id")}
    # The draft is the task's product; the verdict (the validator's, mirrored in ok/errors) judges it.
    # Error spans (start/end) point into the draft as written, before pii_redaction shortens it.
    draft["output"] = {"subject": _opt_str(request.get("subject"), "request.subject"), "body": body} if kind == "email" else {"body": body}
    draft["metadata"]["warnings"] = _errors(response.get("warnings"), "response.warnings")
    draft["metadata"]["stats"] = _dict(response.get("stats", {}), "response.stats")
    return draft


def email_draft(source: dict[str, Any]) -> dict[str, Any]:
    """`validate_email` (kind email) → draft_email: subject + body, judged by the EmailValidator."""
    return _outreach(source, "email")


def sms_draft(source: dict[str, Any]) -> dict[str, Any]:
    """`validate_sms` → draft_sms: the SMS body, judged by the EmailValidator's SMS rules."""
    return _outreach(source, "sms")


def fill_proposal(source: dict[str, Any]) -> dict[str, Any]:
    """`validate_fill` → propose_fill: the order and the proposed workers, judged by the FillValidator."""
    draft = _interaction_common(source)
    request = _dict(source.get("request"), "request")
    order_id = _opt_str(request.get("order_id"), "request.order_id")
    order = request.get("order")
    if order is None and order_id is None:
        raise TransformError("request needs an order or an order_id")
    if order is not None:
        order = _dict(order, "request.order")
        _int(order.get("headcount"), "request.order.headcount", minimum=1, maximum=10_000)
    draft["input"] = {"order_id": order_id, "order": order}
    draft["output"] = {"worker_ids": _str_list(request.get("worker_ids"), "request.worker_ids")}
    return draft


def playbook_record(source: dict[str, Any]) -> dict[str, Any]:
    """`playbook_record` → record_playbook: which workers filled which query, and how it went."""
    draft = _interaction_common(source)
    request = _dict(source.get("request"), "request")
    response = _dict(source.get("response"), "response")
    worker_ids = _str_list(request.get("worker_ids"), "request.worker_ids")
    if not worker_ids:
        raise _fail("request.worker_ids", "a non-empty list", worker_ids)
    playbook_id = response.get("id")
    if playbook_id is not None and (isinstance(playbook_id, bool) or not isinstance(playbook_id, (int, str))):
        raise _fail("response.id", "an id", playbook_id)
    draft["input"] = {
        "query": _str(request.get("query"), "request.query"),
        "filters": _dict(request.get("filters", {}), "request.filters"),
        "order_id": _opt_str(request.get("order_id"), "request.order_id"),
    }
    draft["output"] = {
        "worker_ids": worker_ids,
        "outcome": _str(request.get("outcome"), "request.outcome"),
        "playbook_id": playbook_id,
    }
    index = response.get("index")
    draft["metadata"]["index"] = None if index is None else _dict(index, "response.index")
    return draft


def _chat_from_interaction(source: dict[str, Any]) -> dict[str, Any]:
    draft = _interaction_common(source)
    request = _dict(source.get("request"), "request")
    response = _dict(source.get("response"), "response")
    if not draft["verdict"]["ok"] and response.get("text") is None:
        text = None  # a call that failed (provider down, logged with its errors) has no answer to judge
    else:
        text = _str(response.get("text"), "response.text", allow_empty=True)
    draft["input"] = {"messages": _messages(request.get("messages"), "request.messages")}
    draft["output"] = {"text": text}
    draft["metadata"]["provider"] = _opt_str(request.get("provider"), "request.provider")
    draft["metadata"]["purpose"] = _opt_str(request.get("purpose"), "request.purpose")
    verdict = draft["verdict"]
    pii = _answer_pii_errors(text) if text is not None else []
    draft["verdict"] = {"ok": verdict["ok"] and not pii, "errors": verdict["errors"] + pii}
    return draft


def _chat_from_log(source: dict[str, Any]) -> dict[str, Any]:
    log = _dict(source.get("log"), "line")
    if log.get("schema") != CHAT_LOG_SCHEMA:
        raise _fail("schema", f"{CHAT_LOG_SCHEMA!r}", log.get("schema"))
    response = _dict(log.get("response"), "response")
    usage = _dict(log.get("usage") or {}, "usage")
    text = _str(response.get("content"), "response.content", allow_empty=True)
    origin = source.get("origin") or {}
    pii = _answer_pii_errors(text)
    return {
        "source_id": _source_id(log.get("id"), "id"),
        "occurred_at": _timestamp(log.get("occurred_at"), "occurred_at"),
        "model": _model(log.get("model"), "model"),
        "prompt_tokens": _opt_int(usage.get("prompt_tokens"), "usage.prompt_tokens"),
        "completion_tokens": _opt_int(usage.get("completion_tokens"), "usage.completion_tokens"),
        "latency_ms": _opt_number(log.get("latency_ms"), "latency_ms"),
        "input": {"messages": _messages(log.get("messages"), "messages")},
        "output": {"text": text},
        "verdict": {"ok": not pii, "errors": pii},
        "labels": {},
        "metadata": {
            "chat_log": _dict(log.get("metadata") or {}, "metadata"),
            "inbox_file": origin.get("file"),
            "inbox_line": origin.get("line"),
        },
    }


def chat_completion(source: dict[str, Any]) -> dict[str, Any]:
    """`chat` interactions and inbox chat logs → chat: the messages and the model's answer.

    The verdict applies the EmailValidator's PII rules (SSN, card) to the answer, as replay judges it.
    """
    if source.get("source_kind") == "chat_log":
        return _chat_from_log(source)
    return _chat_from_interaction(source)


def replay_result(source: dict[str, Any]) -> dict[str, Any]:
    """A replay_run.v1 (SPEC §4.8) → replay: what was replayed, the model's answer and its judgement.

    The record occurs when the run finished (its result exists from then on; the replay source hands
    out runs by finished_at, so a run lands in the partition of the range that read it).
    """
    run = _dict(source.get("run"), "run")
    if run.get("schema") != REPLAY_RUN_SCHEMA:
        raise _fail("schema", f"{REPLAY_RUN_SCHEMA!r}", run.get("schema"))
    status = run.get("status")
    if status not in REPLAY_STATUSES:
        raise _fail("status", f"one of {', '.join(REPLAY_STATUSES)}", status)
    response = _dict(run.get("response") or {}, "response")
    validation = run.get("validation")
    if validation is None or status == "error":
        # A run that never got an answer (model down, skipped type) has no validation to mirror: the
        # replay service writes an empty one ({"ok": false, "errors": []}) for an error run, which
        # would read as "the validator failed, for no reason".
        message = _opt_str(run.get("error"), "error") or f"replay {status}"
        verdict = {"ok": status == "pass", "errors": [] if status == "pass" else [{"code": f"REPLAY_{status.upper()}", "message": message}]}
    else:
        validation = _dict(validation, "validation")
        verdict = {"ok": _bool(validation.get("ok"), "validation.ok"), "errors": _errors(validation.get("errors"), "validation.errors")}
    started_at = _timestamp(run.get("started_at"), "started_at")
    finished_at = run.get("finished_at")
    retrieval = run.get("retrieval")
    baseline_ok = run.get("baseline_ok")
    return {
        "source_id": _source_id(run.get("run_id"), "run_id"),
        "occurred_at": started_at if finished_at is None else _timestamp(finished_at, "finished_at"),
        "model": _model(run.get("model"), "model"),
        "prompt_tokens": _opt_int(response.get("prompt_tokens"), "response.prompt_tokens"),
        "completion_tokens": _opt_int(response.get("completion_tokens"), "response.completion_tokens"),
        "latency_ms": _opt_number(response.get("latency_ms"), "response.latency_ms"),
        "input": {
            "evidence_id": _str(run.get("evidence_id"), "evidence_id"),
            "task_type": _str(run.get("task_type"), "task_type"),
            "retrieval": None if retrieval is None else _dict(retrieval, "retrieval"),
            "bundle_sha256": _opt_str(run.get("bundle_sha256"), "bundle_sha256"),
        },
        "output": {"text": _opt_str(response.get("text"), "response.text")},
        "verdict": verdict,
        "labels": {
            "status": status,
            "regression": _bool(run.get("regression", False), "regression"),
            "baseline_ok": None if baseline_ok is None else _bool(baseline_ok, "baseline_ok"),
        },
        "metadata": {
            "batch_id": _opt_str(run.get("batch_id"), "batch_id"),
            "provider": _opt_str(run.get("provider"), "provider"),
            "started_at": canonical_timestamp(started_at),
            "error": _opt_str(run.get("error"), "error"),
        },
    }


def feedback(source: dict[str, Any]) -> dict[str, Any]:
    """`feedback` → feedback: a coordinator's accept/reject/edit, labelling the target's evidence.

    Evidence is append-only, so the target record is not rewritten; this record carries the label
    and the target's evidence id (computed from the target's kind, which the caller looks up).
    """
    draft = _interaction_common(source)
    request = _dict(source.get("request"), "request")
    target_id = _str(request.get("target_id"), "request.target_id")
    try:
        target_id = str(uuid.UUID(target_id))
    except ValueError:
        raise _fail("request.target_id", "an interaction id (uuid)", target_id) from None
    verdict = request.get("verdict")
    if verdict not in FEEDBACK_VERDICTS:
        raise _fail("request.verdict", f"one of {', '.join(FEEDBACK_VERDICTS)}", verdict)
    edited_text = _opt_str(request.get("edited_text"), "request.edited_text")
    if verdict == "edit" and not (edited_text or "").strip():
        raise TransformError("request.edited_text is required when request.verdict is 'edit'")
    target_evidence_id = target_transform = None
    target = source.get("target")
    if target is not None:
        target = _dict(target, "target")
        routed = transform_for_interaction(target.get("kind"), target.get("request_kind"))
        if routed is not None and routed.name != "feedback":
            target_transform = routed.name
            target_evidence_id = evidence_id(routed.name, routed.version, "interaction", target_id)
    draft["input"] = {"target_id": target_id}
    draft["output"] = {"verdict": verdict, "edited_text": edited_text}
    draft["labels"] = {
        "feedback": verdict,
        "target_id": target_id,
        "target_transform": target_transform,
        "target_evidence_id": target_evidence_id,
    }
    return draft


# ------------------------------------------------------------------------------ enrichments


def _text_chars(value: Any) -> int:
    """Characters in every string of a JSON value (keys excluded): the text a model would read."""
    if isinstance(value, str):
        return len(value)
    if isinstance(value, dict):
        return sum(_text_chars(v) for v in value.values())
    if isinstance(value, list):
        return sum(_text_chars(v) for v in value)
    return 0


def token_accounting(record: dict[str, Any]) -> None:
    """Fill missing token counts with ceil(chars / 4) of the input (prompt) and output (completion).

    Four characters per token is the usual rule of thumb for English with BPE tokenizers; good enough
    for budgeting replays, and flagged by ``metadata.tokens_estimated`` so nobody mistakes it for a
    count. Runs before pii_redaction, on the text as written (masks would shorten it).
    """
    estimated = False
    if record["prompt_tokens"] is None:
        record["prompt_tokens"] = tokens_for_chars(_text_chars(record["input"]))
        estimated = True
    if record["completion_tokens"] is None:
        record["completion_tokens"] = tokens_for_chars(_text_chars(record["output"]))
        estimated = True
    record["metadata"]["tokens_estimated"] = estimated


_PII_COUNT_KINDS = ("ssn", "card", "email", "phone")
_NO_PII = (0, 0, 0, 0)


def _mask(text: str) -> tuple[str, tuple[int, ...]]:
    # Credentials first (SPEC §3.5: never in a record or its file), then the personal data.
    masked, _ = mask_secrets(text)
    masked, found = mask_pii(masked)
    if "\x00" in masked:
        masked = masked.replace("\x00", "\ufffd")  # PostgreSQL's jsonb cannot store NUL
    if not masked.isascii():
        # Lone surrogates (legal in JSON escapes, not in UTF-8) would fail the file write and the insert.
        masked = masked.encode("utf-8", "replace").decode("utf-8")
    counts = tuple(found[kind] for kind in _PII_COUNT_KINDS)
    return masked, (_NO_PII if counts == _NO_PII else counts)


# Records repeat the same short strings over and over (keys, worker ids, roles, cities, index names):
# remembering their masking (a pure function of the text) means each is scanned once per process.
_mask_short = lru_cache(maxsize=1 << 16)(_mask)
_SHORT = 64


def _redact(value: Any, counts: list[int]) -> Any:
    """A copy of a JSON value with every string (keys included) masked; counts accumulate per kind.
    The hottest loop of the materializer, hence exact type checks and no helper calls per string."""
    kind = type(value)
    if kind is str:
        masked, found = _mask_short(value) if len(value) <= _SHORT else _mask(value)
        if found is not _NO_PII:
            for index, count in enumerate(found):
                counts[index] += count
        return masked
    if kind is list:
        return [_redact(item, counts) for item in value]
    if kind is dict:
        out: dict[str, Any] = {}
        for key, item in value.items():
            clean_key = _redact(key, counts)
            while clean_key in out:  # two keys masked to the same text: keep both values
                clean_key = f"{clean_key}~"
            secret = type(key) is str and is_secret_key(key) and item not in (None, "", SECRET_MASK)
            out[clean_key] = SECRET_MASK if secret else _redact(item, counts)
        return out
    # Subclasses (OrderedDict, tuples from a replay source...) take the slow path rather than slip by.
    if isinstance(value, str):
        return _redact(str(value), counts)
    if isinstance(value, dict):
        return _redact(dict(value), counts)
    if isinstance(value, (list, tuple)):
        return _redact(list(value), counts)
    return value


def pii_redaction(record: dict[str, Any]) -> None:
    """Mask credentials, SSNs, cards, emails and phones (apps.core.detectors — the one detector) in
    every string of input, output, verdict, labels, metadata and model, and the value of every
    credential-named key (apps.interactions.scrubber); counts per PII kind in ``metadata.redactions``."""
    counts = [0, 0, 0, 0]
    for field in ("input", "output", "verdict", "labels", "metadata", "model"):
        record[field] = _redact(record[field], counts)
    record["metadata"]["redactions"] = dict(zip(_PII_COUNT_KINDS, counts))


# ------------------------------------------------------------------------------- registry

REGISTRY: dict[str, Transform] = {
    t.name: t
    for t in (
        Transform("search_session", 1, ("interaction:search",), "rank_workers", search_session),
        Transform("profile_swap", 1, ("interaction:profile_swap",), "swap_worker", profile_swap),
        Transform("email_draft", 1, ("interaction:validate_email",), "draft_email", email_draft),
        Transform("sms_draft", 1, ("interaction:validate_sms",), "draft_sms", sms_draft),
        Transform("fill_proposal", 1, ("interaction:validate_fill",), "propose_fill", fill_proposal),
        Transform("playbook_record", 1, ("interaction:playbook_record",), "record_playbook", playbook_record),
        Transform("playbook_search", 1, ("interaction:playbook_search",), "rank_workers_with_memory", playbook_search),
        Transform("chat_completion", 1, ("interaction:chat", "chat_log"), "chat", chat_completion),
        Transform("replay_result", 1, ("replay_run",), "replay", replay_result),
        Transform("feedback", 1, ("interaction:feedback",), "feedback", feedback),
        # Enrichments, applied to every record in this order.
        Transform("token_accounting", 1, ("*",), None, token_accounting),
        Transform("pii_redaction", 1, ("*",), None, pii_redaction),
    )
}
ENRICHMENTS: tuple[Transform, ...] = tuple(t for t in REGISTRY.values() if t.is_enrichment)
_BY_SOURCE: dict[str, Transform] = {source: t for t in REGISTRY.values() if not t.is_enrichment for source in t.sources}


def transform_for_interaction(kind: Any, request_kind: Any = None) -> Transform | None:
    """The transform for an interaction of this kind. A `validate_email` row whose request validated an
    SMS is an SMS draft (SPEC §4.7 routes email_draft on "validate_email (kind email)")."""
    if kind == "validate_email" and request_kind == "sms":
        kind = "validate_sms"
    return _BY_SOURCE.get(f"interaction:{kind}")


def route(source: dict[str, Any]) -> Transform:
    """The record transform that reads this source; TransformError when none does."""
    source_kind = source.get("source_kind")
    if source_kind == "interaction":
        request = source.get("request")
        request_kind = request.get("kind") if isinstance(request, dict) else None
        transform = transform_for_interaction(source.get("kind"), request_kind)
        if transform is None:
            raise TransformError(f"no transform reads interactions of kind {source.get('kind')!r}")
        return transform
    transform = _BY_SOURCE.get(str(source_kind))
    if transform is None:
        raise TransformError(f"no transform reads sources of kind {source_kind!r}")
    return transform


def evidence_id(transform: str, version: int, source_kind: str, source_id: str) -> str:
    """``ev_`` + the first 32 hex digits of sha256 over the JSON array
    ``[transform, version, source_kind, source_id]`` (compact, UTF-8): unambiguous and stable."""
    key = json.dumps([transform, version, source_kind, source_id], separators=(",", ":"), ensure_ascii=False)
    return "ev_" + hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]


def materialize(source: dict[str, Any]) -> dict[str, Any]:
    """One source → one evidence_record.v1 dict, enriched. Raises TransformError on a malformed row."""
    transform = route(source)
    draft = transform.fn(source)
    source_kind = str(source["source_kind"])
    occurred_at: datetime = draft["occurred_at"]
    record = {
        "schema": SCHEMA,
        "evidence_id": evidence_id(transform.name, transform.version, source_kind, draft["source_id"]),
        "day": occurred_at.date().isoformat(),
        "occurred_at": canonical_timestamp(occurred_at),
        "source_kind": source_kind,
        "source_id": draft["source_id"],
        "transform": transform.name,
        "transform_version": transform.version,
        "task_type": transform.task_type,
        "input": draft["input"],
        "output": draft["output"],
        "model": draft["model"],
        "prompt_tokens": draft["prompt_tokens"],
        "completion_tokens": draft["completion_tokens"],
        "latency_ms": draft["latency_ms"],
        "verdict": draft["verdict"],
        "labels": draft["labels"],
        "metadata": {**draft["metadata"], "enrichments": {t.name: t.version for t in ENRICHMENTS}},
    }
    for enrichment in ENRICHMENTS:
        enrichment.fn(record)
    return record


def dumps(record: dict[str, Any]) -> str:
    """Deterministic JSON for one record (one line of a partition file, no newline): sorted keys, no
    spaces, UTF-8 text, NaN refused."""
    return json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
