"""Radius search (SPEC §4.3 `near`) on the real 3,000-worker corpus, against a brute-force oracle over
the stored coordinates: exact-k on both plans, miles on results and explanations, 400s, the order's
request, ingest warnings and the backfill."""

from __future__ import annotations

from datetime import date

import pytest

from apps.indexes.embedders import get_embedder
from apps.search.order_search import order_search_request
from apps.workers.geo import great_circle_miles, zip_coordinates
from apps.workers.models import Worker
from apps.workers.services import backfill_worker_coordinates, create_ingest_job, run_ingest
from tests.oracle import exact_ranking
from tests.searching import search

pytestmark = pytest.mark.django_db

QUERY = "forklift operator night shift rf scanner"
CENTER = "43215"  # downtown Columbus, OH: the corpus's Columbus ZIPs lie 3–15 miles from it


def _within(radius: float, role: str | None = None):
    lat, lon = zip_coordinates(CENTER)

    def keep(wid, m):
        return (
            m["status"] == "active"
            and m["latitude"] is not None
            and great_circle_miles(lat, lon, m["latitude"], m["longitude"]) <= radius
            and (role is None or m["role"] == role)
        )

    return keep


@pytest.mark.parametrize("force_graph", [False, True])
@pytest.mark.parametrize("radius,role", [(8, None), (25, "forklift_operator"), (250, None)])
def test_radius_search_returns_the_exact_top_k_within_the_radius(search_corpus, coordinator_client, settings, force_graph, radius, role):
    if force_graph:
        settings.SEARCH_EXACT_MAX_ROWS = 0  # plan the HNSW walk: a selective radius starves it, and it must recover
    filters = {"role": role} if role else {}
    body = search(coordinator_client, query=QUERY, k=10, filters=filters, near={"zip": CENTER, "radius_miles": radius}, explain=True)
    keep = _within(radius, role)
    matching = sum(keep(w, m) for w, m in zip(search_corpus["ids"], search_corpus["meta"]))
    assert matching >= 1
    expected = exact_ranking(search_corpus, get_embedder().embed([QUERY])[0], keep, 10)
    ids = [r["worker_id"] for r in body["results"]]
    assert len(ids) == min(10, matching)
    if body["index"]["path"] == "hnsw":
        assert len(set(ids) & set(expected)) >= 9
    else:
        assert ids == expected
    for result in body["results"]:
        assert 0 <= result["miles"] <= radius
        assert result["explain"]["miles"] == result["miles"]
    by_id = dict(zip(search_corpus["ids"], search_corpus["meta"]))
    first = body["results"][0]
    meta = by_id[first["worker_id"]]
    assert first["miles"] == pytest.approx(great_circle_miles(*zip_coordinates(CENTER), meta["latitude"], meta["longitude"]), abs=0.06)


def test_near_replaces_the_city_filter_and_results_without_near_carry_no_miles(search_corpus, coordinator_client):
    # A Columbus radius with an unrelated city filter still finds Columbus workers: near replaces the city match.
    body = search(coordinator_client, query=QUERY, k=5, filters={"city": "Denver"}, near={"zip": CENTER, "radius_miles": 25})
    assert body["results"] and all(r["worker"]["city"] == "Columbus" for r in body["results"])
    plain = search(coordinator_client, query=QUERY, k=5, explain=True)
    assert all("miles" not in r and "miles" not in r["explain"] for r in plain["results"])


@pytest.mark.parametrize(
    "near,field",
    [
        ({"zip": "00000", "radius_miles": 10}, "zip"),
        ({"zip": "4321", "radius_miles": 10}, "zip"),
        ({"zip": CENTER, "radius_miles": 0}, "radius_miles"),
        ({"zip": CENTER, "radius_miles": 251}, "radius_miles"),
        ({"zip": CENTER}, "radius_miles"),
        ({"zip": CENTER, "radius_miles": 5, "units": "km"}, "units"),
    ],
)
def test_bad_near_is_a_400_naming_the_field(coordinator_client, near, field):
    response = coordinator_client.post("/api/v1/workers/search", {"query": "welder", "near": near}, format="json")
    assert response.status_code == 400, response.content
    assert field in str(response.json()["error"]["fields"]["near"])


def test_an_order_with_a_site_zip_searches_near_it_without_city_or_state(search_corpus, coordinator_client, settings):
    order = {"role": "forklift_operator", "city": "Columbus", "state": "OH", "site_zip": CENTER, "shift": "night",
             "start_date": date(2026, 12, 1), "required_certifications": ["OSHA-10"]}
    request = order_search_request(order, exclude_ids=["W-1"])
    assert request.near.zip == CENTER and request.near.radius_miles == 25
    assert request.filters.city is None and request.filters.state is None
    assert request.filters.role == "forklift_operator" and request.filters.shift == "night"
    assert request.filters.certifications == ("OSHA-10",) and request.filters.available_on == date(2026, 12, 1)
    assert request.exclude_ids == ("W-1",) and request.explain and request.use_playbook
    settings.ORDER_RADIUS_MILES = 40
    assert order_search_request(order).near.radius_miles == 40
    assert order_search_request(order, radius_miles=5).near.radius_miles == 5
    without_zip = order_search_request({**order, "site_zip": ""})
    assert without_zip.near is None and (without_zip.filters.city, without_zip.filters.state) == ("Columbus", "OH")


def test_ingest_sets_coordinates_and_warns_on_an_unknown_zip(tmp_path):
    Worker.objects.all().delete()  # rolled back with the test: the session corpus survives
    path = tmp_path / "workers.csv"
    path.write_text(
        "worker_id,first_name,city,state,zip,role\n"
        "G-1,Ann,Columbus,OH,43215,welder\n"
        "G-2,Bob,Columbus,OH,00000,welder\n"
        "G-3,Cy,Columbus,OH,,welder\n"
    )
    job = run_ingest(create_ingest_job(path=path, dispatch=False).pk)
    assert job.status == "succeeded" and job.rows_written == 3 and job.rows_rejected == 0
    assert [(w["line"], w["worker_id"]) for w in job.warnings if "ZIP" in w["reason"]] == [(3, "G-2")]
    coordinates = dict((w, (lat, lon)) for w, lat, lon in Worker.objects.values_list("worker_id", "latitude", "longitude"))
    assert coordinates["G-1"] == zip_coordinates("43215")
    assert coordinates["G-2"] == (None, None) and coordinates["G-3"] == (None, None)


def test_backfill_sets_missing_coordinates_from_the_zip(search_corpus):
    Worker.objects.filter(state="OH").update(latitude=None, longitude=None)
    assert backfill_worker_coordinates() == Worker.objects.filter(state="OH").exclude(zip="").count() > 0
    for zip_code, lat, lon in Worker.objects.filter(state="OH").values_list("zip", "latitude", "longitude")[:50]:
        assert (lat, lon) == zip_coordinates(zip_code)
    assert backfill_worker_coordinates() == 0
