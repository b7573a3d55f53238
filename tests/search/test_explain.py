"""The pure explanation of a search result (apps/search/explain.py). No database."""

from __future__ import annotations

from apps.search.explain import explain_result
from apps.workers.search import SearchFilters


def _result(**worker):
    return {
        "worker_id": "W-1",
        "score": 0.95,
        "distance": 0.25,
        "playbook_boost": 0.5,
        "worker": {"skills": ["forklift", "rf scanner"], "certifications": ["OSHA-10"], "shift_preference": ["night"], "reliability": 0.9, **worker},
    }


def test_explain_splits_the_score_and_lists_what_matched():
    filters = SearchFilters(skills=("pallet jack", "rf scanner"), certifications=("OSHA-10",), shift="night")
    assert explain_result(_result(), filters, [7, 3]) == {
        "similarity": 0.75,
        "playbook_boost": 0.5,
        "playbooks": [7, 3],
        "matched": {"skills": ["rf scanner"], "certifications": ["OSHA-10"], "shift": True},
        "reliability": 0.9,
    }


def test_nothing_requested_means_nothing_matched():
    explain = explain_result(_result(skills=[], shift_preference=[]), SearchFilters(), [])
    assert explain["matched"] == {"skills": [], "certifications": [], "shift": False}
    assert explain["playbooks"] == []
    assert explain_result(_result(), SearchFilters(shift="day"), [])["matched"]["shift"] is False
