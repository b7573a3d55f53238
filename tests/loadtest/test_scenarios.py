"""Pure parts of the scenarios: drafts, draws, filter relaxation, result checks, error reasons."""

from __future__ import annotations

import json
import random
from datetime import date

import pytest

from apps.loadtest.scenarios import (
    AGENCY_EMAIL,
    AGENCY_PHONE,
    SCENARIOS,
    CheckFailed,
    ScenarioContext,
    check_results,
    draw_order,
    draw_search,
    email_draft,
    gsm7_plain,
    http_failure_reason,
    relaxations,
    select_scenarios,
    sms_draft,
)
from apps.validation.email_validator import EmailValidator
from apps.validation.sms import sms_stats
from apps.workers.vocabulary import CITIES, ROLES

CTX = ScenarioContext(today=date(2026, 11, 28))
AGENCY = {"worker_contacts": {}, "agency_phones": ["+15551234567"], "agency_emails": [AGENCY_EMAIL]}


def _worker(**overrides):
    worker = {
        "first_name": "Sofía", "city": "Salt Lake City", "state": "UT", "role": "maintenance_technician",
        "skills": [], "certifications": [], "shift_preference": ["night"], "available_from": None,
        "reliability": 0.9, "phone": "+12125550123", "email": "sofia@example.com",
    }
    return {**worker, **overrides}


def _recipient(worker, worker_id="W-000001"):
    return {**worker, "worker_id": worker_id, "found": True, "status": "active", "sms_opt_out": False}


def test_the_mix_is_the_spec_mix():
    assert {s.name: s.weight for s in SCENARIOS} == {
        "cold_search_email": 35, "surge_fill_validate": 15, "profile_swap": 15,
        "repeat_cache": 15, "sms_validate": 10, "playbook_record_replay": 10,
    }
    assert [s.name for s in select_scenarios(["repeat_cache", "profile_swap"])] == ["profile_swap", "repeat_cache"]
    with pytest.raises(ValueError):
        select_scenarios(["nope"])


@pytest.mark.parametrize("role", ROLES)
def test_sms_draft_is_one_gsm7_segment_with_number_and_opt_out_for_every_role(role):
    # The longest city and a non-GSM-7 name: the worst case for length and encoding.
    longest_city = max((c.name for c in CITIES), key=len)
    worker = _worker(role=role, city=longest_city, first_name="Sofía")
    text = sms_draft(worker, CTX)
    stats = sms_stats(text)
    assert stats["encoding"] == "GSM-7" and stats["segments"] == 1 and len(text) <= 160
    assert f"Call {AGENCY_PHONE}" in text and "Reply STOP to opt out" in text
    assert "Sofia" in text  # folded, not dropped
    verdict = EmailValidator().validate("sms", None, text, _recipient(worker), AGENCY)
    assert verdict.ok, verdict.to_dict()  # the phone number is no SSN; nothing else trips a rule


@pytest.mark.parametrize("role", ROLES)
def test_email_draft_passes_the_validator_and_carries_no_worker_contact(role):
    worker = _worker(role=role, first_name="Tomás", city="Columbus", state="OH")
    subject, body = email_draft(worker, CTX)
    assert "Tomás" in body and "Columbus, OH" in body
    assert worker["phone"] not in body and worker["email"] not in body
    verdict = EmailValidator().validate("email", subject, body, _recipient(worker), AGENCY)
    assert verdict.ok, verdict.to_dict()


def test_gsm7_plain_folds_accents_and_drops_extension_characters():
    assert gsm7_plain("Zoë-Lucía O'Brien") == "Zoe-Lucia O'Brien"
    assert gsm7_plain("[Ana]{~}|^\\`") == "Ana"


def test_draws_are_reproducible_per_seed_and_filters_use_the_vocabulary():
    first = [draw_search(random.Random(7)) for _ in range(3)]
    assert first == [draw_search(random.Random(7)) for _ in range(3)]
    cities = {(c.name, c.state) for c in CITIES}
    seen_keys = set()
    rng = random.Random(1)
    for _ in range(300):
        query, filters = draw_search(rng)
        seen_keys |= set(filters)
        assert set(filters) <= {"city", "state", "role"}
        if "city" in filters:
            assert (filters["city"], filters["state"]) in cities
            assert filters["city"] in query  # the query names the city it filters on
        if "role" in filters:
            assert filters["role"] in ROLES
    assert seen_keys == {"city", "state", "role"}  # every filter comes up at random


def test_orders_start_in_the_future_and_popular_orders_are_big_combinations():
    rng = random.Random(3)
    for _ in range(100):
        city, role, shift, start = draw_order(rng, CTX.today)
        assert 14 <= (date.fromisoformat(start) - CTX.today).days <= 120
    city, role, shift, _ = draw_order(random.Random(3), CTX.today, popular=True)
    assert city.weight >= 6 and shift == "day"


def test_relaxations_widen_city_then_state_then_role():
    filters = {"city": "Columbus", "state": "OH", "role": "welder"}
    assert relaxations(filters) == [filters, {"state": "OH", "role": "welder"}, {"role": "welder"}, {}]
    assert relaxations({"role": "welder"}) == [{"role": "welder"}, {}]
    assert relaxations({}) == [{}]


def _result(worker_id, **worker):
    return {"worker_id": worker_id, "score": 0.9, "distance": 0.1, "playbook_boost": 0.0, "worker": _worker(**worker)}


def test_check_results_accepts_results_that_obey_the_request():
    results = [_result("W-1", city="Columbus", state="OH", role="welder", shift_preference=["day", "night"], available_from="2026-12-01")]
    check_results(results, {"city": "columbus", "state": "OH", "role": "welder", "shift": "night", "available_on": "2026-12-01"}, k=10, step="s")


@pytest.mark.parametrize(
    ("filters", "worker", "reason"),
    [
        ({"city": "Columbus"}, {"city": "Dayton"}, "city filter"),
        ({"state": "OH"}, {"state": "IN"}, "state filter"),
        ({"role": "welder"}, {"role": "cna"}, "role filter"),
        ({"shift": "night"}, {"shift_preference": ["day"]}, "shift filter"),
        ({"available_on": "2026-12-01"}, {"available_from": "2026-12-02"}, "available_on filter"),
    ],
)
def test_check_results_catches_a_filter_violation(filters, worker, reason):
    with pytest.raises(CheckFailed, match=reason):
        check_results([_result("W-1", **worker)], filters, k=10, step="search")


def test_check_results_catches_overlap_duplicates_and_too_many():
    with pytest.raises(CheckFailed, match="overlap the excluded ids"):
        check_results([_result("W-1"), _result("W-2")], {}, k=10, exclude_ids=["W-2"], step="swap search")
    with pytest.raises(CheckFailed, match="duplicate"):
        check_results([_result("W-1"), _result("W-1")], {}, k=10, step="search")
    with pytest.raises(CheckFailed, match="more results than k"):
        check_results([_result("W-1"), _result("W-2")], {}, k=1, step="search")


def test_http_failure_reason_reads_the_error_envelope_or_the_body():
    envelope = json.dumps({"error": {"code": "invalid", "message": "Invalid request. k: too big", "fields": {}}}).encode()
    assert http_failure_reason("search", 400, envelope) == "search: HTTP 400 invalid: Invalid request. k: too big"
    assert http_failure_reason("search", 502, b"<html>Bad Gateway</html>") == "search: HTTP 502: <html>Bad Gateway</html>"
    assert http_failure_reason("search", 500, b"") == "search: HTTP 500: (empty body)"


def test_check_failed_keeps_reason_and_detail_short():
    failure = CheckFailed("r" * 1000, "d" * 1000)
    assert len(failure.reason) <= 240 and len(failure.detail) <= 240


# ------------------------------------------------------------------ scenarios against a scripted API


class ScriptedApi:
    """Stands in for ApiClient: answers searches with results that obey the request and lets each
    test script the other endpoints; records every call."""

    def __init__(self, **answers):
        self.answers = answers
        self.calls: list[tuple[str, str, dict | None]] = []
        self.requests = 0

    async def post(self, path, body, *, step, expect=200):
        self.calls.append(("POST", path, body))
        self.requests += 1
        if path.endswith("/workers/search"):
            return self.answers.get("search", _search_answer)(body)
        return self.answers[path.rsplit("/", 1)[-1]](body)

    async def get(self, path, *, step, expect=200):
        self.calls.append(("GET", path, None))
        self.requests += 1
        return self.answers["profile"](path)


def _search_answer(body, **extra):
    filters = body.get("filters", {})
    excluded = set(body.get("exclude_ids", ()))
    ids = [f"W-{n:06d}" for n in range(1, 40) if f"W-{n:06d}" not in excluded][: body["k"]]
    worker = {
        "city": filters.get("city", "Columbus"), "state": filters.get("state", "OH"), "role": filters.get("role", "welder"),
        "shift_preference": ["day", "swing", "night", "weekend"], "available_from": None,
    }
    return {"results": [_result(i, **worker) for i in ids], "embedding_cache": "hit", "playbooks_used": [], **extra}


def _run(scenario, api, seed=1, ctx=None):
    import asyncio

    asyncio.run(scenario(api, random.Random(seed), ctx or ScenarioContext(today=date(2026, 11, 28))))


def test_sms_moves_past_a_worker_whose_profile_confirms_the_opt_out():
    from apps.loadtest.scenarios import sms_validate

    opted_out = {"ok": False, "errors": [{"code": "RECIPIENT_OPTED_OUT", "message": "opted out"}], "stats": {}}
    passed = {"ok": True, "errors": [], "stats": {"encoding": "GSM-7", "segments": 1, "chars": 120}}
    api = ScriptedApi(
        email=lambda body: opted_out if body["worker_id"] == "W-000001" else passed,
        profile=lambda path: {"worker_id": "W-000001", "sms_opt_out": True, "status": "active"},
    )
    _run(sms_validate, api)
    steps = [(method, path.rsplit("/", 2)[-2] if method == "GET" else path, (body or {}).get("worker_id")) for method, path, body in api.calls]
    assert steps[1:] == [
        ("POST", "/api/v1/validate/email", "W-000001"),
        ("GET", "W-000001", None),
        ("POST", "/api/v1/validate/email", "W-000002"),
    ]


def test_sms_fails_when_the_validator_invents_an_opt_out():
    from apps.loadtest.scenarios import sms_validate

    api = ScriptedApi(
        email=lambda body: {"ok": False, "errors": [{"code": "RECIPIENT_OPTED_OUT", "message": "opted out"}]},
        profile=lambda path: {"sms_opt_out": False, "status": "active"},
    )
    with pytest.raises(CheckFailed, match="RECIPIENT_OPTED_OUT for a worker whose profile allows SMS"):
        _run(sms_validate, api)


def test_sms_fails_on_any_other_validator_error():
    from apps.loadtest.scenarios import sms_validate

    api = ScriptedApi(email=lambda body: {"ok": False, "errors": [{"code": "PII_SSN", "message": "SSN at 40"}]})
    with pytest.raises(CheckFailed, match=r"validate sms: rejected \(PII_SSN\)"):
        _run(sms_validate, api)


def _record_replay_api(*, boosted=True, list_playbook=True):
    recorded = {}

    def record(body):
        recorded.update(body)
        return {"id": 77, "index": {"name": "playbook_memory", "size": 1, "version": 2}}

    def search(body):
        if not body.get("use_playbook"):
            return _search_answer(body)
        answer = _search_answer(body, playbooks_used=[{"id": 77, "similarity": 1.0}] if list_playbook else [])
        for result in answer["results"]:
            if boosted and result["worker_id"] in recorded["worker_ids"]:
                result["playbook_boost"] = 1.0
        return answer

    return ScriptedApi(search=search, record=record), recorded


def test_record_replay_queries_are_new_in_every_run_even_with_the_same_seed():
    from apps.loadtest.scenarios import playbook_record_replay

    queries = []
    for _ in range(2):
        api, recorded = _record_replay_api()
        _run(playbook_record_replay, api, seed=5, ctx=ScenarioContext(today=date(2026, 11, 28)))
        searches = [body for method, path, body in api.calls if path.endswith("/search")]
        assert searches[0]["query"] == recorded["query"] == searches[-1]["query"]  # cold, record, warm: one query
        assert searches[-1]["use_playbook"] is True and recorded["outcome"] == "filled" and len(recorded["worker_ids"]) == 2
        queries.append(recorded["query"])
    assert queries[0] != queries[1]  # same seed, new run tag: no pile-up of identical playbooks


@pytest.mark.parametrize(
    ("boosted", "list_playbook", "reason"),
    [(False, True, "no playbook_boost"), (True, False, "not in playbooks_used")],
)
def test_record_replay_fails_when_the_warm_search_ignores_the_playbook(boosted, list_playbook, reason):
    from apps.loadtest.scenarios import playbook_record_replay

    api, _ = _record_replay_api(boosted=boosted, list_playbook=list_playbook)
    with pytest.raises(CheckFailed, match=reason):
        _run(playbook_record_replay, api)


def test_repeat_cache_fails_on_an_embedding_cache_miss_or_different_results():
    from apps.loadtest.scenarios import repeat_cache

    answers = iter([{}, {}, {"embedding_cache": "miss"}])
    api = ScriptedApi(search=lambda body: {**_search_answer(body), **next(answers, {})})
    with pytest.raises(CheckFailed, match="embedding cache did not hit"):
        _run(repeat_cache, api)

    calls = iter(range(10))
    api = ScriptedApi(search=lambda body: _search_answer(body) if next(calls) < 3 else _search_answer({**body, "exclude_ids": ["W-000001"]}))
    with pytest.raises(CheckFailed, match="results differ from the first search"):
        _run(repeat_cache, api)


def test_repeat_cache_accepts_new_results_from_a_new_index_version_only():
    """A write between repeats (an ingest under load) bumps the index version: fresh results are
    read-your-writes; within one version they must still be identical."""
    from apps.loadtest.scenarios import repeat_cache

    def answer(n, body):
        version = 1 if n < 2 else 2  # an ingest batch committed after the second search
        changed = {**body, "exclude_ids": ["W-000001"]} if n >= 2 else body
        return _search_answer(changed, index={"name": "workers", "version": version})

    calls = iter(range(10))
    _run(repeat_cache, ScriptedApi(search=lambda body: answer(next(calls), body)))  # passes

    calls = iter(range(10))
    drifting = ScriptedApi(search=lambda body: _search_answer(
        {**body, "exclude_ids": ["W-000001"]} if next(calls) >= 3 else body, index={"name": "workers", "version": 1}))
    with pytest.raises(CheckFailed, match="results differ from the first search"):
        _run(repeat_cache, drifting)


def test_surge_fill_proposes_two_fitting_workers_with_shared_certifications_then_records():
    from apps.loadtest.scenarios import surge_fill_validate

    def search(body):
        answer = _search_answer(body)
        answer["results"][0]["worker"]["certifications"] = ["OSHA-10", "Forklift"]
        answer["results"][1]["worker"]["certifications"] = ["Forklift", "First Aid"]
        return answer

    proposals = []
    api = ScriptedApi(
        search=search,
        fill=lambda body: proposals.append(body) or {"ok": True, "errors": []},
        record=lambda body: {"id": 1, "index": {"name": "playbook_memory", "size": 1, "version": 1}},
    )
    _run(surge_fill_validate, api)
    (search_body, fill_body, record_body) = [body for _, _, body in api.calls]
    order = fill_body["order"]
    filters = search_body["filters"]
    assert fill_body["worker_ids"] == ["W-000001", "W-000002"] == record_body["worker_ids"]
    assert (order["city"], order["state"], order["role"], order["shift"]) == (filters["city"], filters["state"], filters["role"], filters["shift"])
    assert order["start_date"] == filters["available_on"] and order["headcount"] == 2
    assert order["required_certifications"] == ["Forklift"]
    assert record_body["filters"] == filters and record_body["outcome"] == "filled"
