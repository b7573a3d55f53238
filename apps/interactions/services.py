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
) -> Interaction:
    """Write one interaction row (one INSERT; measured cost in benchmarks/README.md), with secrets,
    SSNs and card numbers scrubbed from request, response and errors first."""
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
    )
