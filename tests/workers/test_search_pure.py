"""The pure search module (apps/workers/search.py): request shape, filter dicts, SQL, planning. No database."""

from __future__ import annotations

from datetime import date

import pytest

from apps.workers.geo import great_circle_sql, zip_coordinates
from apps.workers.search import (
    near_from_dict,
    CorpusStats,
    SearchFilters,
    SearchPlan,
    SearchRequest,
    filter_sql,
    EF_PER_EXCLUDED_ID,
    plan_search,
    search_filters_from_dict,
    search_request_from_dict,
    weigh_walk,
)


def test_filters_from_a_dict_are_normalized_like_stored_workers():
    filters = search_filters_from_dict(
        {
            "city": "  columbus ",
            "state": "oh",
            "role": "Forklift Operator",
            "skills": ["RF Scanner", " rf scanner", "", "Pallet Jack"],
            "certifications": [" OSHA-10", "OSHA-10", "CPR"],
            "shift": "night",
            "available_on": "2026-12-01",
        }
    )
    assert filters == SearchFilters(
        city="Columbus",
        state="OH",
        role="forklift_operator",
        skills=("pallet jack", "rf scanner"),
        certifications=("CPR", "OSHA-10"),
        shift="night",
        available_on=date(2026, 12, 1),
        status="active",
    )


def test_normalizing_is_idempotent_so_a_logged_dict_rebuilds_the_same_filters():
    filters = search_filters_from_dict({"city": "McAllen", "role": "picker/packer", "skills": ["a", "b"], "available_on": date(2027, 1, 2)})
    assert filters.city == "McAllen"  # mixed case is deliberate and kept
    assert filters.role == "picker_packer"
    assert search_filters_from_dict(filters.to_dict()) == filters


def test_empty_and_missing_values_mean_no_filter_and_status_defaults_to_active():
    assert search_filters_from_dict(None) == SearchFilters()
    assert search_filters_from_dict({"city": "", "state": None, "skills": None, "status": None, "available_on": "soon"}) == SearchFilters()
    assert search_filters_from_dict({"status": "do_not_contact"}).status == "do_not_contact"


def test_request_from_a_dict_dedupes_exclusions_in_order_and_reads_the_flags():
    request = search_request_from_dict(
        {"query": "welder", "k": 5, "exclude_ids": ["W-2", "W-1", "W-2"], "use_playbook": True, "explain": True, "filters": {"state": "tx"}}
    )
    assert request == SearchRequest(
        query="welder", k=5, filters=SearchFilters(state="TX"), exclude_ids=("W-2", "W-1"), use_playbook=True, explain=True
    )
    assert search_request_from_dict({"query": "welder"}) == SearchRequest(query="welder")


def test_cache_key_depends_on_everything_that_changes_the_answer_and_nothing_else():
    base = SearchRequest(query="welder", exclude_ids=("W-1", "W-2"))
    assert base.cache_key(1) == SearchRequest(query="welder", exclude_ids=("W-2", "W-1")).cache_key(1)  # order of exclusions
    assert base.cache_key(1) != base.cache_key(2)  # index version
    assert base.cache_key(1) != SearchRequest(query="welder", exclude_ids=("W-1", "W-2"), explain=True).cache_key(1)
    assert base.cache_key(1) != SearchRequest(query="welder", exclude_ids=("W-1", "W-2"), use_playbook=True).cache_key(1)
    assert base.cache_key(1) != SearchRequest(query="welder", k=11, exclude_ids=("W-1", "W-2")).cache_key(1)


def test_filter_sql_binds_every_value_and_matches_any_skill_but_all_certifications():
    filters = SearchFilters(
        city="Columbus", state="OH", role="welder", skills=("a", "b"), certifications=("X",), shift="night", available_on=date(2027, 1, 1)
    )
    where, params = filter_sql(filters, ("W-1",))
    assert where == (
        "embedding IS NOT NULL AND status = %s AND state = %s AND city = %s AND role = %s AND skills && %s::text[] "
        "AND certifications @> %s::text[] AND %s = ANY(shift_preference) AND (available_from IS NULL OR available_from <= %s) "
        "AND NOT (worker_id = ANY(%s::text[]))"
    )
    assert params == ["active", "OH", "Columbus", "welder", ["a", "b"], ["X"], "night", date(2027, 1, 1), ["W-1"]]
    assert where.count("%s") == len(params)
    assert filter_sql(SearchFilters(), ()) == ("embedding IS NOT NULL AND status = %s", ["active"])


STATS = CorpusStats(
    total=10_000,
    by_key={("OH", "Columbus", "welder", "active"): 40, ("OH", "Dayton", "welder", "active"): 60, ("TX", "Austin", "cna", "active"): 9_900},
    skill_rows={"tig": 5_000},
    cert_rows={"AWS": 1_000},
    shift_rows={"night": 2_500},
)


def test_estimate_is_exact_on_the_grouped_columns_and_assumes_independence_for_the_rest():
    assert STATS.estimate(SearchFilters(city="Columbus", state="OH", role="welder")) == 40
    assert STATS.estimate(SearchFilters(role="welder")) == 100
    assert STATS.estimate(SearchFilters(role="welder", skills=("tig",), certifications=("AWS",), shift="night")) == pytest.approx(100 * 0.5 * 0.1 * 0.25)
    assert STATS.estimate(SearchFilters(status="inactive")) == 0
    assert CorpusStats(0, {}, {}, {}, {}).estimate(SearchFilters()) == 0.0


def test_remembered_estimates_stay_per_filter_in_any_order_and_after_the_memo_starts_over(monkeypatch):
    import apps.workers.search as search_module

    monkeypatch.setattr(search_module, "BASE_ROWS_MEMO", 2)
    stats = CorpusStats(total=STATS.total, by_key=STATS.by_key, skill_rows=STATS.skill_rows, cert_rows=STATS.cert_rows, shift_rows=STATS.shift_rows)
    shapes = [SearchFilters(city="Dayton", state="OH", role="welder"), SearchFilters(state="TX"), SearchFilters(role="welder", shift="night"),
              SearchFilters(city="Dayton", state="OH", role="welder"), SearchFilters(status="inactive"), SearchFilters(state="TX")]
    assert [stats.estimate(f) for f in shapes] == [60, 9_900, 25, 60, 0, 9_900]
    assert len(stats._base_rows) <= 2


def test_a_selective_filter_plans_the_exact_path_and_a_broad_one_widens_the_graph_walk():
    selective = plan_search(SearchRequest("q", filters=SearchFilters(role="welder")), STATS, base_ef=40, exact_max_rows=500)
    assert (selective.path, selective.estimated_rows) == ("exact", 100)
    broad = plan_search(SearchRequest("q", k=10), STATS, base_ef=40, exact_max_rows=500)
    assert broad.path == "hnsw" and broad.ef_search == 40
    narrower = plan_search(SearchRequest("q", k=50, filters=SearchFilters(state="TX", shift="night")), STATS, base_ef=40, exact_max_rows=500)
    # ~2,475 of 10,000 rows pass: the walk must see 2 × 50 / 0.2475 candidates to expect 50 survivors twice over.
    assert narrower.path == "hnsw" and narrower.ef_search == 405
    swap = plan_search(SearchRequest("q", k=10, exclude_ids=tuple(f"W-{i}" for i in range(50))), STATS, base_ef=40, exact_max_rows=500)
    assert swap.ef_search == 40 + 50 * EF_PER_EXCLUDED_ID  # the excluded are usually the nearest
    capped = plan_search(SearchRequest("q", k=100, exclude_ids=tuple(f"W-{i}" for i in range(1000))), STATS, base_ef=40, exact_max_rows=500)
    assert capped.ef_search == 1000


def test_an_iterative_walk_is_widened_for_the_excluded_ids_but_not_for_the_filters_selectivity():
    def plan(request):
        return plan_search(request, STATS, base_ef=40, exact_max_rows=500, iterative=True)

    narrower = plan(SearchRequest("q", k=50, filters=SearchFilters(state="TX", shift="night")))
    assert (narrower.path, narrower.ef_search) == ("hnsw", 40)  # the scan resumes until 50 pass
    swap = plan(SearchRequest("q", k=10, exclude_ids=tuple(f"W-{i}" for i in range(50))))
    assert swap.ef_search == 40 + 50 * EF_PER_EXCLUDED_ID
    assert plan(SearchRequest("q", k=100, exclude_ids=tuple(f"W-{i}" for i in range(1000)))).ef_search == 1000
    assert plan(SearchRequest("q", filters=SearchFilters(role="welder"))).path == "exact"


def test_a_walk_that_would_meet_more_rows_than_the_filter_keeps_takes_the_exact_path():
    walk = SearchPlan("hnsw", 100, 10_000)
    # 50 candidates at 1 % of the neighbourhood passing: ~5,000 walked rows, each worth 5 exact ones.
    assert weigh_walk(walk, 0.01, candidates=50, walk_row_cost=5) == SearchPlan("exact", 100, 10_000)
    assert weigh_walk(walk, 0.5, candidates=50, walk_row_cost=5) is walk  # ~100 walked rows: walk
    assert weigh_walk(SearchPlan("hnsw", 100, 25_001), 0.01, candidates=50, walk_row_cost=5) == SearchPlan("hnsw", 100, 25_001)
    assert weigh_walk(walk, 0.01, candidates=50, walk_row_cost=0) is walk  # weighing off
    assert weigh_walk(walk, None, candidates=50, walk_row_cost=5) is walk  # the sample cannot tell
    exact = SearchPlan("exact", 100, 300)
    assert weigh_walk(exact, 0.9, candidates=50, walk_row_cost=5) is exact


def test_a_second_walk_is_at_least_the_widened_floor_twice_the_planned_walk_and_never_past_the_cap():
    from apps.workers.search import MAX_EF_SEARCH, WIDENED_EF_SEARCH, widened_ef_search

    assert widened_ef_search(100) == WIDENED_EF_SEARCH == 400  # the unfiltered walk
    assert widened_ef_search(350) == 700  # a profile swap of 50 (100 + 50 × 5)
    assert widened_ef_search(800) == MAX_EF_SEARCH == 1000  # pgvector's own limit


def test_a_radius_estimate_counts_the_rows_at_places_inside_the_circle():
    columbus, dublin, dayton = zip_coordinates("43215"), zip_coordinates("43017"), zip_coordinates("45402")
    stats = CorpusStats(
        total=1_000,
        by_key={},
        skill_rows={},
        cert_rows={"AWS": 100},
        shift_rows={},
        by_place={(*columbus, "OH", "welder", "active"): 30, (*dublin, "OH", "welder", "active"): 20, (*dayton, "OH", "welder", "active"): 50,
                  (*columbus, "OH", "cna", "active"): 900},
    )
    near = near_from_dict({"zip": "43215", "radius_miles": 25})
    assert stats.estimate(SearchFilters(role="welder"), near) == 50  # Dayton is ~65 miles away
    assert stats.estimate(SearchFilters(role="welder", certifications=("AWS",)), near) == pytest.approx(5)
    assert stats.estimate(SearchFilters(), near_from_dict({"zip": "43215", "radius_miles": 100})) == 1_000
    assert plan_search(SearchRequest("q", filters=SearchFilters(role="welder"), near=near), stats, base_ef=40, exact_max_rows=500).path == "exact"


def test_a_radius_keeps_its_box_for_the_b_tree_but_the_graph_walk_gets_only_the_exact_distance():
    # PostgreSQL multiplies the latitude and longitude ranges' selectivities, so with the box in the
    # WHERE clause it prefers the B-tree over a dense metro's ~12k rows to the walk the plan chose.
    near = near_from_dict({"zip": "43215", "radius_miles": 10})
    boxed, boxed_params = filter_sql(SearchFilters(role="welder"), (), near)
    walk, walk_params = filter_sql(SearchFilters(role="welder"), (), near, with_box=False)
    assert "latitude BETWEEN %s AND %s" in boxed and "longitude BETWEEN %s AND %s" in boxed
    assert "BETWEEN" not in walk
    distance = great_circle_sql("latitude", "longitude") + " <= %s"
    assert distance in boxed and distance in walk
    assert walk_params == ["active", "welder", near.latitude, near.latitude, near.longitude, 10.0]
    assert boxed_params[:2] == walk_params[:2] and boxed_params[-4:] == walk_params[-4:]
    assert walk.count("%s") == len(walk_params) and boxed.count("%s") == len(boxed_params)
