"""Where a fill's outcome goes: the learning loop records it.

Orders sit below the playbooks app (a playbook points at its order), so orders cannot import it.
Playbooks registers its recorder here when the app starts (``PlaybooksConfig.ready``), the same way
apps register vector indexes and evidence sources; orders call ``record_fill_outcome`` inside their
own transaction, so the playbook commits or rolls back with the decision.
"""

from __future__ import annotations

from typing import Any, Protocol


class OutcomeRecorder(Protocol):
    def __call__(
        self, *, query: str, worker_ids: list[str], outcome: str, filters: dict[str, Any], order_id: str, actor: str
    ) -> Any: ...


_recorder: OutcomeRecorder | None = None


def register_outcome_recorder(recorder: OutcomeRecorder) -> None:
    global _recorder
    _recorder = recorder


def record_fill_outcome(**outcome: Any) -> Any:
    if _recorder is None:  # an installation without the learning loop would silently lose fills
        raise RuntimeError("No fill-outcome recorder is registered (is apps.playbooks installed?).")
    return _recorder(**outcome)
