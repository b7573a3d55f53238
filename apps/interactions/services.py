"""Writes of the interaction log (SPEC §3.5): one row per coordinator workflow call or LLM call."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from apps.interactions.models import Interaction
from apps.interactions.scrubber import scrub


def log_interaction(
    *,
    kind: str,
    actor: str = "",
    request: dict[str, Any],
    response: dict[str, Any],
    ok: bool = True,
    errors: list[Any] | None = None,
    latency_ms: float = 0.0,
    model: str = "",
    prompt_tokens: int | None = None,
    completion_tokens: int | None = None,
    order_id: str = "",
    worker_ids: list[str] | tuple[str, ...] = (),
) -> Interaction:
    """Write one interaction row (one INSERT; measured cost in benchmarks/README.md), with secrets,
    SSNs and card numbers scrubbed from request, response and errors first. `order_id` and
    `worker_ids` name what the row is about (an order's history, a worker's decisions); they are
    scrubbed like the rest, since an id is whatever a caller typed."""
    return Interaction.objects.create(
        kind=kind,
        occurred_at=timezone.now(),
        actor=scrub(actor),
        request=scrub(request),
        response=scrub(response),
        ok=ok,
        errors=scrub(errors or []),
        latency_ms=round(latency_ms, 3),
        model=model,
        prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens,
        order_id=scrub(order_id or ""),
        worker_ids=[scrub(str(w)) for w in worker_ids],
    )
