"""The labelled relevance set and the evaluator's arithmetic (benchmarks/relevance): pure, no database."""

from __future__ import annotations

import math
from collections import Counter

import pytest

from apps.workers import vocabulary as vocab
from apps.search.fusion import reciprocal_rank_fusion
from benchmarks.relevance.evaluate import evaluate, gain, load_queries, ndcg_at_k

CLASSES = {"corpus", "synonym", "slang", "abbreviation", "misspelling", "paraphrase"}


def test_the_set_has_150_distinct_labelled_queries_in_every_class_with_real_roles_and_certifications():
    queries = load_queries()
    assert len(queries) >= 150
    assert len({q["id"] for q in queries}) == len(queries) and len({q["query"].lower() for q in queries}) == len(queries)
    counts = Counter(q["class"] for q in queries)
    assert set(counts) == CLASSES and min(counts.values()) >= 20
    for q in queries:
        assert q["roles"] and set(q["roles"]) <= set(vocab.ROLES), q
        # a required certification must be one some listed role can hold, or gain 2 would be unreachable
        holdable = {c for role in q["roles"] for c in vocab.ROLE_CERTIFICATIONS[role]}
        assert set(q["certifications"]) <= holdable, q


def test_gains_follow_role_then_certifications():
    query = {"roles": ["cdl_driver"], "certifications": ["CDL-A", "Hazmat Endorsement"]}
    assert gain(query, "cdl_driver", ["CDL-A", "Hazmat Endorsement", "TWIC"]) == 2
    assert gain(query, "cdl_driver", ["CDL-A"]) == 1
    assert gain(query, "forklift_operator", ["CDL-A", "Hazmat Endorsement"]) == 0
    assert gain({"roles": ["cna"], "certifications": []}, "cna", []) == 2


def test_ndcg_is_one_for_the_ideal_order_and_discounts_later_hits():
    assert ndcg_at_k([2, 1, 0], [1, 2, 0, 0]) == pytest.approx(1.0)
    assert ndcg_at_k([0, 2], [2]) == pytest.approx(1 / math.log2(3))
    assert ndcg_at_k([0, 0], []) == 0.0
    roles, certs = ["cna", "cna", "welder"], [["BLS"], [], []]
    report = evaluate([{"class": "abbreviation", "roles": ["cna"], "certifications": ["BLS"]}], [[2, 0, 1]], roles, certs)
    # ranked gains [0, 2, 1] against the ideal [2, 1]
    assert report["abbreviation"]["nDCG@10"] == pytest.approx(round((2 / math.log2(3) + 1 / 2) / (2 + 1 / math.log2(3)), 4))
    assert report["all"]["P@10"] == pytest.approx(0.2)


def test_reciprocal_rank_fusion_rewards_agreement():
    fused = reciprocal_rank_fusion([[1, 2, 3], [3, 1, 4]], k=3)
    assert [i for i, _ in fused] == [1, 3, 2]
    assert reciprocal_rank_fusion([[7], [7]], k=1) == [(7, pytest.approx(1.0))]  # first in both lists
    assert [i for i, _ in reciprocal_rank_fusion([[5], []], k=10)] == [5]
