"""The pure playbook boost (apps/playbooks/boost.py): decay, per-worker boosts, re-ranking. No database."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from apps.playbooks.boost import PlaybookHit, decay, final_score, rerank, worker_boosts, worker_playbooks

NOW = datetime(2026, 11, 30, tzinfo=timezone.utc)


def _hit(id, similarity, outcome, worker_ids, age_days=0.0):
    return PlaybookHit(id=id, similarity=similarity, outcome=outcome, worker_ids=tuple(worker_ids), created_at=NOW - timedelta(days=age_days))


def test_decay_halves_every_half_life_and_never_grows_for_future_rows():
    assert decay(0, 30) == 1.0
    assert decay(30, 30) == pytest.approx(0.5)
    assert decay(90, 30) == pytest.approx(0.125)
    assert decay(-5, 30) == 1.0  # a clock skew must not make a playbook count more than fresh


def test_filled_playbooks_add_declined_ones_subtract_weighted_by_similarity_and_age():
    hits = [
        _hit(1, 0.8, "filled", ["W-1", "W-2"]),
        _hit(2, 0.6, "declined", ["W-2"], age_days=30),
        _hit(3, 0.9, "no_show", ["W-3"]),
    ]
    boosts = worker_boosts(hits, now=NOW, half_life_days=30)
    assert boosts == pytest.approx({"W-1": 0.8, "W-2": 0.8 - 0.3, "W-3": -0.9})


def test_boosts_are_clamped_and_a_worker_named_twice_in_one_playbook_counts_once():
    hits = [_hit(i, 0.9, "filled", ["W-1", "W-1"]) for i in range(3)] + [_hit(9, 0.5, "filled", ["W-2", "W-2"])]
    boosts = worker_boosts(hits, now=NOW, half_life_days=30)
    assert boosts["W-1"] == 1.0
    assert boosts["W-2"] == pytest.approx(0.5)
    assert worker_boosts([_hit(i, 0.9, "declined", ["W-1"]) for i in range(3)], now=NOW, half_life_days=30) == {"W-1": -1.0}


def test_worker_playbooks_lists_each_workers_playbooks_most_similar_first():
    hits = [_hit(1, 0.7, "filled", ["W-1"]), _hit(2, 0.9, "declined", ["W-1", "W-2", "W-2"]), _hit(3, 0.7, "filled", ["W-1"])]
    assert worker_playbooks(hits) == {"W-1": [2, 3, 1], "W-2": [2]}  # ties: the newer (higher id) first
    assert worker_playbooks([]) == {}


def test_rerank_scores_similarity_plus_beta_boost_and_keeps_the_top_k():
    results = [
        {"worker_id": "W-a", "distance": 0.10, "score": 0.9, "playbook_boost": 0.0},
        {"worker_id": "W-b", "distance": 0.30, "score": 0.7, "playbook_boost": 0.0},
        {"worker_id": "W-c", "distance": 0.20, "score": 0.8, "playbook_boost": 0.0},
        {"worker_id": "W-d", "distance": 0.20, "score": 0.8, "playbook_boost": 0.0},
    ]
    ranked = rerank(results, {"W-b": 1.0, "W-a": -0.5}, beta=0.3, k=3)
    assert [r["worker_id"] for r in ranked] == ["W-b", "W-c", "W-d"]  # equal score and distance: by id
    assert ranked[0]["score"] == pytest.approx(final_score(0.7, 1.0, 0.3)) == pytest.approx(1.0)
    assert ranked[0]["playbook_boost"] == 1.0 and ranked[1]["playbook_boost"] == 0.0
    demoted = next(r for r in results if r["worker_id"] == "W-a")
    assert demoted["score"] == pytest.approx(0.9 - 0.15) and demoted["playbook_boost"] == -0.5


def test_rerank_without_boosts_is_the_plain_similarity_order():
    results = [{"worker_id": f"W-{i}", "distance": d, "score": 0.0, "playbook_boost": 0.0} for i, d in enumerate([0.4, 0.1, 0.3])]
    ranked = rerank(results, {}, beta=0.3, k=10)
    assert [r["worker_id"] for r in ranked] == ["W-1", "W-2", "W-0"]
    assert [r["score"] for r in ranked] == [0.9, 0.7, 0.6]
