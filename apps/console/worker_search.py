"""The worker list's semantic search box: the shared search of the API (search sits above workers, so
workers' admin gets it through `apps.core.admin_extensions.register_list_search`)."""

from __future__ import annotations

from typing import Any

from apps.search.services import search_and_log
from apps.workers.search import SearchRequest


def rank_workers(*, query: str, k: int, actor: str) -> dict[str, Any]:
    """POST /api/v1/workers/search's response body for `query` (logged like the API's)."""
    return search_and_log(SearchRequest(query=query, k=k), actor=actor)
