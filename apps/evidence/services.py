"""Writes of the evidence app: the interaction log (SPEC §3.5)."""

from __future__ import annotations

import re
from typing import Any

from django.utils import timezone

from apps.evidence.models import Interaction

_SECRET_KEY = re.compile(r"(api[_-]?key|token|authorization|password|secret|credential)", re.IGNORECASE)
_BEARER = re.compile(r"\b(Bearer|Token)\s+[A-Za-z0-9._~+/=-]{8,}", re.IGNORECASE)


def scrub_secrets(value: Any) -> Any:
    """Drop credentials from anything about to be logged: secret-named keys and bearer/token strings."""
    if isinstance(value, dict):
        return {k: "[REDACTED]" if _SECRET_KEY.search(str(k)) else scrub_secrets(v) for k, v in value.items()}
    if isinstance(value, list):
        return [scrub_secrets(v) for v in value]
    if isinstance(value, str) and ("earer" in value or "oken" in value):
        return _BEARER.sub(lambda m: f"{m.group(1)} [REDACTED]", value)
    return value


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
    """Write one interaction row (one INSERT; measured cost in benchmarks/README.md)."""
    return Interaction.objects.create(
        kind=kind,
        occurred_at=timezone.now(),
        actor=actor,
        request=scrub_secrets(request),
        response=scrub_secrets(response),
        ok=ok,
        errors=scrub_secrets(errors or []),
        latency_ms=round(latency_ms, 3),
        model=model,
        prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens,
    )
