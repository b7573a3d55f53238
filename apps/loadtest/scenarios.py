"""The six coordinator workflows of the multitier harness (SPEC §4.10) and their checks.

Each scenario is ``async def scenario(client, rng, ctx) -> None``: it returns when every HTTP call
answered as expected and every check held, and raises ``CheckFailed`` otherwise — a scenario whose
calls all returned 200 still fails when what came back is wrong (an overlapping swap, a cache miss on
a repeat, a draft the validator rejects).

Failure reasons are *stable* strings ("swap search: results overlap the excluded ids"), never
carrying ids or counts, so the report can group them; the specifics of the first occurrence travel in
``CheckFailed.detail``.

The harness is an HTTP client: it knows the API's shapes (SPEC §4.3–§4.6) and the corpus vocabulary
(``apps.workers.vocabulary``, plain data), nothing of the server's internals, so it can drive any
deployment. It runs on the same cores as the server, so the code here avoids work per request:
bodies are encoded and answers decoded with ``orjson`` (a search answer decodes in half the time of
``json``'s), and checks walk small lists.
"""

from __future__ import annotations

import json
import random
import secrets
import time
import unicodedata
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from itertools import accumulate
from typing import Any

import aiohttp
import orjson
from yarl import URL

from apps.loadtest.connections import Connection
from apps.workers.vocabulary import CITIES, ROLE_SKILLS, ROLE_TITLES, ROLE_WEIGHTS, ROLES, SHIFTS, City

SEARCH_PATH = "/api/v1/workers/search"
VALIDATE_EMAIL_PATH = "/api/v1/validate/email"
VALIDATE_FILL_PATH = "/api/v1/validate/fill"
RECORD_PLAYBOOK_PATH = "/api/v1/playbooks/record"
WORKER_DETAIL_PATH = "/api/v1/workers/{worker_id}/"

# The agency's own contact line: the only contact data a draft may carry (SPEC §4.4 exempts the
# agency's phone and email from PII_OTHER_WORKER). The SMS number is the SPEC's example, written the
# way coordinators write it — the validator must not mistake it for an SSN.
AGENCY_PHONE = "555-123-4567"
AGENCY_EMAIL = "jobs@lakehouse-staffing.example"

SMS_MAX_CHARS = 160
DEFAULT_K = 10
REPEATS = 5  # repeat_cache: the same search this many times
RANDOM_ORDER_DRAWS = 3  # surge_fill_validate: orders drawn from the whole demand mix…
POPULAR_ORDER_DRAWS = 3  # …then from the busiest metros, roles and shift, before giving up
MAX_SMS_CANDIDATES = 10  # sms_validate: recipients tried when the first ones opted out of SMS
MAX_REASON_CHARS = 240


class CheckFailed(Exception):
    """A scenario step failed. ``reason`` groups failures in the report; ``detail`` is one example."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(reason)
        self.reason = reason[:MAX_REASON_CHARS]
        self.detail = detail[:MAX_REASON_CHARS]


# ----------------------------------------------------------------------------------------- HTTP client


class ApiClient:
    """One simulated coordinator's view of the API over its own keep-alive ``Connection``.

    Counts its requests (the harness attributes them to scenario runs) and turns every unexpected
    status, timeout or transport error into ``CheckFailed`` with the step, the status code and the
    message from the API's error envelope.
    """

    __slots__ = ("connection", "requests", "on_search")

    def __init__(self, connection: Connection, on_search: Callable[[float, float], None] | None = None) -> None:
        self.connection = connection
        self.requests = 0
        # Called with (perf_counter at send, latency ms) for every search request, when set: the
        # mixed read/write report shows search latency itself, not only whole scenarios.
        self.on_search = on_search

    async def post(self, path: str, body: dict[str, Any], *, step: str, expect: int = 200) -> dict[str, Any]:
        content = orjson.dumps(body)
        return await self._send("POST", path, self.connection.fixed_url(path), content, step=step, expect=expect)

    async def get(self, path: str, *, step: str, expect: int = 200) -> dict[str, Any]:
        # Not cached: GET paths carry ids and would grow the cache with every worker looked up.
        return await self._send("GET", path, self.connection.url(path), None, step=step, expect=expect)

    async def _send(self, method: str, path: str, url: URL, content: bytes | None, *, step: str, expect: int) -> dict[str, Any]:
        self.requests += 1
        sent = time.perf_counter()
        try:
            status, body = await self.connection.request(method, url, content)
        except TimeoutError as exc:  # before ClientError: aiohttp's ServerTimeoutError is both
            raise CheckFailed(f"{step}: {type(exc).__name__} (no answer within the client timeout)") from exc
        except aiohttp.ClientError as exc:
            raise CheckFailed(f"{step}: {type(exc).__name__}: {exc}") from exc
        if self.on_search is not None and path == SEARCH_PATH:
            self.on_search(sent, (time.perf_counter() - sent) * 1000.0)
        if status != expect:
            raise CheckFailed(http_failure_reason(step, status, body), detail=f"{method} {path}")
        try:
            return orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise CheckFailed(f"{step}: HTTP {status} with a body that is not JSON") from exc


def http_failure_reason(step: str, status_code: int, content: bytes) -> str:
    """'search: HTTP 400 invalid: Invalid request. k: ...' — code and message from the error envelope
    (SPEC §5), or the start of the body when a proxy or server answered with something else."""
    try:
        error = json.loads(content)["error"]
        return f"{step}: HTTP {status_code} {error.get('code', '?')}: {error.get('message', '')}"
    except (ValueError, KeyError, TypeError):
        snippet = content[:120].decode("utf-8", "replace").strip()
        return f"{step}: HTTP {status_code}: {snippet or '(empty body)'}"


# ------------------------------------------------------------------------------------------ context


@dataclass
class ScenarioContext:
    """What a client's scenarios share: its index, the run's tag and notion of today, the agency line."""

    client_index: int = 0
    today: date = field(default_factory=date.today)
    # Random per run, not drawn from the seeded generator: a seed replays the same queries, and
    # "new" order references must not repeat across runs (see playbook_record_replay).
    run_tag: str = field(default_factory=lambda: secrets.token_hex(3))
    agency_phone: str = AGENCY_PHONE
    agency_email: str = AGENCY_EMAIL
    _references: int = field(default=0, init=False, repr=False)

    def next_order_reference(self) -> str:
        """'3fa2c1-7-42': unique across runs (tag), clients (index) and this client's scenarios."""
        self._references += 1
        return f"{self.run_tag}-{self.client_index}-{self._references}"


# ------------------------------------------------------------------------------------ drawing inputs

# Demand follows the corpus: big metros and light-industrial roles come up most, like a real desk.
_CITY_CUM_WEIGHTS = tuple(accumulate(city.weight for city in CITIES))
_ROLE_CUM_WEIGHTS = tuple(accumulate(ROLE_WEIGHTS[role] for role in ROLES))
# Extra words coordinators type. They multiply the distinct queries (~50 per role × skill × shift ×
# city) so a "cold" search in a long run is mostly a real embedding-cache miss, as in production;
# repeat_cache is the scenario that measures the warm path.
_QUERY_PREFIXES = ("", "", "", "experienced", "reliable", "dependable", "available", "skilled", "qualified", "local")
_QUERY_SUFFIXES = ("", "", "", "immediate start", "long-term assignment", "temp to hire", "weekly pay", "asap", "this week")


# Where most orders — and most workers — are: the five biggest metros and roles, on the day shift.
_POPULAR_CITIES = tuple(sorted(CITIES, key=lambda city: -city.weight)[:5])
_POPULAR_ROLES = tuple(sorted(ROLES, key=lambda role: -ROLE_WEIGHTS[role])[:5])
POPULAR_SHIFT = "day"


def draw_city(rng: random.Random) -> City:
    return rng.choices(CITIES, cum_weights=_CITY_CUM_WEIGHTS)[0]


def draw_role(rng: random.Random) -> str:
    return rng.choices(ROLES, cum_weights=_ROLE_CUM_WEIGHTS)[0]


def draw_order(rng: random.Random, today: date, *, popular: bool = False) -> tuple[City, str, str, str]:
    """(city, role, shift, start date ISO) of a job order starting 2–17 weeks from today."""
    if popular:
        city, role, shift = rng.choice(_POPULAR_CITIES), rng.choice(_POPULAR_ROLES), POPULAR_SHIFT
    else:
        city, role, shift = draw_city(rng), draw_role(rng), rng.choice(SHIFTS)
    return city, role, shift, (today + timedelta(days=rng.randint(14, 120))).isoformat()


def compose_query(rng: random.Random, role: str, shift: str, city: City) -> str:
    """role + skill + shift + city, with the optional words a coordinator adds."""
    parts = (rng.choice(_QUERY_PREFIXES), ROLE_TITLES[role], rng.choice(ROLE_SKILLS[role]), f"{shift} shift", city.name, rng.choice(_QUERY_SUFFIXES))
    return " ".join(part for part in parts if part)


def draw_search(rng: random.Random) -> tuple[str, dict[str, Any]]:
    """A coordinator's free search: a vocabulary query with city/state and role filters at random
    (40 % city+state, 20 % state only, 40 % no location; 50 % role)."""
    city, role, shift = draw_city(rng), draw_role(rng), rng.choice(SHIFTS)
    filters: dict[str, Any] = {}
    location = rng.random()
    if location < 0.4:
        filters["city"], filters["state"] = city.name, city.state
    elif location < 0.6:
        filters["state"] = city.state
    if rng.random() < 0.5:
        filters["role"] = role
    return compose_query(rng, role, shift, city), filters


def relaxations(filters: dict[str, Any]) -> list[dict[str, Any]]:
    """The filters, then broader and broader versions — city first, then state, then role — the way a
    coordinator widens a search that found too few people. Duplicates are dropped."""
    steps = [dict(filters)]
    for dropped in (("city",), ("city", "state"), ("city", "state", "role")):
        broader = {key: value for key, value in filters.items() if key not in dropped}
        if broader != steps[-1]:
            steps.append(broader)
    return steps


# --------------------------------------------------------------------------------------- search + checks


async def search(
    client: ApiClient,
    query: str,
    filters: dict[str, Any],
    *,
    k: int = DEFAULT_K,
    exclude_ids: Sequence[str] = (),
    use_playbook: bool = False,
    step: str = "search",
) -> dict[str, Any]:
    """POST /workers/search and check the answer obeys the request (every filter, every exclusion,
    at most k distinct results) — cheap checks that catch a broken search in every scenario."""
    body: dict[str, Any] = {"query": query, "k": k, "filters": filters}
    if exclude_ids:
        body["exclude_ids"] = list(exclude_ids)
    if use_playbook:
        body["use_playbook"] = True
    response = await client.post(SEARCH_PATH, body, step=step)
    results = response.get("results")
    if not isinstance(results, list):
        raise CheckFailed(f"{step}: response has no 'results' list")
    check_results(results, filters, k=k, exclude_ids=exclude_ids, step=step)
    return response


def check_results(results: list[dict[str, Any]], filters: dict[str, Any], *, k: int, exclude_ids: Sequence[str] = (), step: str) -> None:
    """Raise CheckFailed unless the results are ≤ k distinct workers that pass every filter and none
    of which is excluded."""
    if len(results) > k:
        raise CheckFailed(f"{step}: more results than k", detail=f"{len(results)} > {k}")
    ids = [result["worker_id"] for result in results]
    if len(set(ids)) != len(ids):
        raise CheckFailed(f"{step}: duplicate workers in the results")
    if exclude_ids:
        overlap = set(ids).intersection(exclude_ids)
        if overlap:
            raise CheckFailed(f"{step}: results overlap the excluded ids", detail=f"{len(overlap)} of {len(ids)} results were excluded: {sorted(overlap)[:3]}")
    city, state, role = filters.get("city"), filters.get("state"), filters.get("role")
    shift, available_on = filters.get("shift"), filters.get("available_on")
    for result in results:
        worker = result["worker"]
        if city and worker["city"].casefold() != city.casefold():
            raise CheckFailed(f"{step}: a result violates the city filter", detail=f"{result['worker_id']} in {worker['city']}, wanted {city}")
        if state and worker["state"] != state:
            raise CheckFailed(f"{step}: a result violates the state filter", detail=f"{result['worker_id']} in {worker['state']}, wanted {state}")
        if role and worker["role"] != role:
            raise CheckFailed(f"{step}: a result violates the role filter", detail=f"{result['worker_id']} is {worker['role']}, wanted {role}")
        if shift and shift not in worker["shift_preference"]:
            raise CheckFailed(f"{step}: a result violates the shift filter", detail=f"{result['worker_id']} works {worker['shift_preference']}")
        # ISO dates compare correctly as strings.
        if available_on and worker["available_from"] and worker["available_from"] > available_on:
            raise CheckFailed(f"{step}: a result violates the available_on filter", detail=f"{result['worker_id']} from {worker['available_from']}")


async def search_broadening(
    client: ApiClient, query: str, filters: dict[str, Any], *, need: int, k: int = DEFAULT_K, step: str = "search"
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Search, widening the filters until at least ``need`` workers come back; returns (response, the
    filters that found them). A random city+role filter can match nobody in a small city, and that is
    the corpus, not a failure — but an unfiltered search that finds fewer than ``need`` is."""
    for candidate_filters in relaxations(filters):
        response = await search(client, query, candidate_filters, k=k, step=step)
        if len(response["results"]) >= need:
            return response, candidate_filters
    raise CheckFailed(f"{step}: fewer than {need} results even without filters")


def result_ids(response: dict[str, Any]) -> list[str]:
    return [result["worker_id"] for result in response["results"]]


# ------------------------------------------------------------------------------------------- drafts

# Characters that are one GSM-7 unit each: ASCII letters, digits and plain punctuation. GSM-7's
# extension characters ([]{}\^~|) cost two units and the backtick is not in GSM-7 at all.
_SMS_SAFE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 .,'-/()&")


def gsm7_plain(text: str) -> str:
    """'Sofía' → 'Sofia': fold accents the way SMS tools do so one character outside GSM-7 doesn't
    switch the whole message to UCS-2 (70 characters per segment)."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(char for char in folded if char in _SMS_SAFE).strip()


def role_title(role: str) -> str:
    return ROLE_TITLES.get(role, role.replace("_", " "))


def email_draft(worker: dict[str, Any], ctx: ScenarioContext) -> tuple[str, str]:
    """(subject, body) of an outreach email: the worker's first name, role and city, and no contact
    data except the agency's own line."""
    first_name = worker["first_name"].strip() or "there"
    title = role_title(worker["role"])
    subject = f"{title[:1].upper()}{title[1:]} assignment in {worker['city']}"
    body = (
        f"Hi {first_name},\n\n"
        f"We have a new {title} assignment in {worker['city']}, {worker['state']} that fits your experience. "
        f"If you are interested, call us at {ctx.agency_phone} or reply to {ctx.agency_email} and we will send "
        "the details.\n\nThanks,\nThe Lakehouse Staffing team"
    )
    return subject, body


def sms_draft(worker: dict[str, Any], ctx: ScenarioContext) -> str:
    """A single-segment GSM-7 SMS (≤ 160 characters) with the agency's number and opt-out language."""
    first_name = gsm7_plain(worker["first_name"]) or "there"
    tail = f"Call {ctx.agency_phone}. Reply STOP to opt out"
    text = f"Hi {first_name}, {gsm7_plain(role_title(worker['role']))} work in {gsm7_plain(worker['city'])}. Interested? {tail}"
    if len(text) > SMS_MAX_CHARS:  # a long role title in a long-named city: drop the specifics
        text = f"Hi {first_name}, new work near you. Interested? {tail}"
    return text


def verdict_codes(verdict: dict[str, Any]) -> list[str]:
    return sorted({error.get("code", "?") for error in verdict.get("errors") or []})


def rejected(step: str, verdict: dict[str, Any]) -> CheckFailed:
    """A validator said ok=false: the reason names the error codes, the detail the first message."""
    errors = verdict.get("errors") or []
    first = errors[0].get("message", "") if errors else ""
    return CheckFailed(f"{step}: rejected ({', '.join(verdict_codes(verdict)) or 'no error codes'})", detail=first)


# ---------------------------------------------------------------------------------------- scenarios


async def cold_search_email(client: ApiClient, rng: random.Random, ctx: ScenarioContext) -> None:
    """search → email draft to the first result → EmailValidator: the draft must pass."""
    query, filters = draw_search(rng)
    response, _ = await search_broadening(client, query, filters, need=1)
    result = response["results"][0]
    subject, body = email_draft(result["worker"], ctx)
    verdict = await client.post(
        VALIDATE_EMAIL_PATH, {"kind": "email", "worker_id": result["worker_id"], "subject": subject, "body": body}, step="validate email"
    )
    if verdict.get("ok") is not True:
        raise rejected("validate email", verdict)


async def surge_fill_validate(client: ApiClient, rng: random.Random, ctx: ScenarioContext) -> None:
    """search with an order's filters → propose 2 matching workers → FillValidator → record the fill.

    The search filters on the order's shift and start date (``available_on``), so every candidate
    fits the order. A drawn order with fewer than 2 candidates (a rare role on the weekend shift in a
    small city matches ~1 of 100k workers) is the corpus, not a failure: the coordinator moves on to
    another order — first from the whole demand mix, then from the busiest metros and roles, where
    2 candidates exist in any corpus of a few thousand workers.
    """
    draws = [False] * RANDOM_ORDER_DRAWS + [True] * POPULAR_ORDER_DRAWS
    for popular in draws:
        city, role, shift, start_date = draw_order(rng, ctx.today, popular=popular)
        query = compose_query(rng, role, shift, city)
        filters = {"city": city.name, "state": city.state, "role": role, "shift": shift, "available_on": start_date}
        response = await search(client, query, filters, k=DEFAULT_K, step="order search")
        if len(response["results"]) >= 2:
            break
    else:
        raise CheckFailed(f"order search: no order with 2 matching workers in {len(draws)} draws")

    first, second = response["results"][:2]  # the two best-ranked, as a coordinator proposes them
    worker_ids = [first["worker_id"], second["worker_id"]]
    certifications = sorted(set(first["worker"]["certifications"]) & set(second["worker"]["certifications"]))
    order = {
        "city": city.name, "state": city.state, "role": role, "headcount": 2, "shift": shift,
        "start_date": start_date, "required_certifications": certifications,
    }
    verdict = await client.post(VALIDATE_FILL_PATH, {"order": order, "worker_ids": worker_ids}, step="validate fill")
    if verdict.get("ok") is not True:
        raise rejected("validate fill", verdict)
    recorded = await client.post(
        RECORD_PLAYBOOK_PATH,
        {"query": query, "filters": filters, "worker_ids": worker_ids, "outcome": "filled"},
        step="record playbook",
        expect=201,
    )
    check_recorded(recorded)


def check_recorded(body: dict[str, Any]) -> None:
    index = body.get("index") or {}
    if "id" not in body or index.get("name") != "playbook_memory":
        raise CheckFailed("record playbook: 201 without an id and the playbook_memory index", detail=str(body)[:200])


async def profile_swap(client: ApiClient, rng: random.Random, ctx: ScenarioContext) -> None:
    """search → the same search excluding every first result: zero overlap, and not empty.

    The first search is widened until it fills k, so more workers may match. If the swap still comes
    back empty, one probe with k + 1 tells a legitimately exhausted filter (exactly k match) from a
    search that dropped candidates.
    """
    query, filters = draw_search(rng)
    first, filters = await search_broadening(client, query, filters, need=DEFAULT_K)
    excluded = result_ids(first)
    swap = await search(client, query, filters, k=DEFAULT_K, exclude_ids=excluded, step="swap search")
    overlap = set(result_ids(swap)).intersection(excluded)
    if overlap:  # check_results already refuses this; kept explicit because it is the scenario's point
        raise CheckFailed("swap search: results overlap the excluded ids", detail=f"{len(overlap)} overlapping")
    if not swap["results"]:
        probe = await search(client, query, filters, k=DEFAULT_K + 1, step="swap probe")
        if len(probe["results"]) > DEFAULT_K:
            raise CheckFailed("swap search: no results although more than k workers match")


def index_version(response: dict[str, Any]) -> Any:
    """The workers index version a search answered from (None when the response does not say)."""
    return (response.get("index") or {}).get("version")


async def repeat_cache(client: ApiClient, rng: random.Random, ctx: ScenarioContext) -> None:
    """the same search × 5: identical result ids, and the embedding cache hits on repeats 2..5.

    Identical only while the index version is the same: a write in between (an ingest batch under
    ``--during-ingest``) bumps it, and then fresh results are read-your-writes, not a failure — the
    repeats after it must agree with the first search of the new version.
    """
    query, filters = draw_search(rng)
    first, filters = await search_broadening(client, query, filters, need=1)
    expected, version = result_ids(first), index_version(first)
    for _ in range(REPEATS - 1):
        again = await search(client, query, filters, step="repeat search")
        if index_version(again) != version:
            expected, version = result_ids(again), index_version(again)
        elif result_ids(again) != expected:
            raise CheckFailed("repeat search: results differ from the first search", detail=f"{result_ids(again)[:3]} vs {expected[:3]}")
        if again.get("embedding_cache") != "hit":
            raise CheckFailed("repeat search: embedding cache did not hit", detail=f"embedding_cache={again.get('embedding_cache')!r}")


async def sms_validate(client: ApiClient, rng: random.Random, ctx: ScenarioContext) -> None:
    """search → SMS draft (≤ 160 GSM-7 chars with 555-123-4567 and opt-out language) → validate: ok.

    Search results don't say who opted out of SMS (8 % of the corpus), so the harness learns it the
    way the validator teaches a coordinator: a verdict whose only error is RECIPIENT_OPTED_OUT moves
    on to the next result — after a GET of the profile confirms the worker really opted out, so a
    validator inventing opt-outs is still caught.
    """
    query, filters = draw_search(rng)
    response, filters = await search_broadening(client, query, filters, need=1)
    candidates = list(response["results"])
    tried: list[str] = []
    while len(tried) < MAX_SMS_CANDIDATES:
        if not candidates:  # everyone so far opted out: widen, excluding them
            more = await search(client, query, {}, exclude_ids=tried, step="sms search")
            candidates = list(more["results"])
            if not candidates:
                break
        result = candidates.pop(0)
        tried.append(result["worker_id"])
        text = sms_draft(result["worker"], ctx)
        if len(text) > SMS_MAX_CHARS:
            raise CheckFailed("sms draft: harness built an SMS over 160 characters", detail=text)
        verdict = await client.post(VALIDATE_EMAIL_PATH, {"kind": "sms", "worker_id": result["worker_id"], "body": text}, step="validate sms")
        if verdict.get("ok") is True:
            stats = verdict.get("stats") or {}
            if stats.get("encoding") != "GSM-7" or stats.get("segments") != 1:
                raise CheckFailed("validate sms: a 160-char GSM-7 draft not counted as one GSM-7 segment", detail=str(stats))
            return
        if verdict_codes(verdict) != ["RECIPIENT_OPTED_OUT"]:
            raise rejected("validate sms", verdict)
        profile = await client.get(WORKER_DETAIL_PATH.format(worker_id=result["worker_id"]), step="worker profile")
        if not profile.get("sms_opt_out") and profile.get("status") != "do_not_contact":
            raise CheckFailed("validate sms: RECIPIENT_OPTED_OUT for a worker whose profile allows SMS")
    raise CheckFailed(f"sms search: no SMS-reachable worker among {len(tried)} candidates")


async def playbook_record_replay(client: ApiClient, rng: random.Random, ctx: ScenarioContext) -> None:
    """cold search → record a fill with 2 of the results → warm search with use_playbook=true: the
    recorded workers are in the results with playbook_boost > 0 and the playbook is listed as used.

    The query carries an order reference unique to this run, so it is new to both caches (cold) and
    its playbook is the only one at similarity 1 to the warm search. (A reference drawn from the
    seeded generator repeats in every run with that seed; after 20 runs, 20 older playbooks with the
    very same query tie with the new one for the PLAYBOOK_MAX_PLAYBOOKS slots and the new one may
    be left out.) The 2 workers come from the top 5: a boost can only lift them, so a worker missing
    from the warm results is a real failure.
    """
    base_query, filters = draw_search(rng)
    query = f"order {ctx.next_order_reference()}: {base_query}"
    cold, filters = await search_broadening(client, query, filters, need=2, step="cold search")
    worker_ids = rng.sample(result_ids(cold)[:5], 2)
    recorded = await client.post(
        RECORD_PLAYBOOK_PATH,
        {"query": query, "filters": filters, "worker_ids": worker_ids, "outcome": "filled"},
        step="record playbook",
        expect=201,
    )
    check_recorded(recorded)
    warm = await search(client, query, filters, use_playbook=True, step="warm search")
    boosts = {result["worker_id"]: result.get("playbook_boost") or 0.0 for result in warm["results"]}
    for worker_id in worker_ids:
        if worker_id not in boosts:
            raise CheckFailed("warm search: a recorded worker is missing from the results", detail=worker_id)
        if not boosts[worker_id] > 0:
            raise CheckFailed("warm search: a recorded worker has no playbook_boost", detail=f"{worker_id}: {boosts[worker_id]}")
    used = {entry.get("id") if isinstance(entry, dict) else entry for entry in warm.get("playbooks_used") or []}
    if recorded["id"] not in used:
        raise CheckFailed("warm search: the recorded playbook is not in playbooks_used", detail=f"{recorded['id']} not in {sorted(map(str, used))[:5]}")


# ---------------------------------------------------------------------------------------- the mix

ScenarioFn = Callable[[ApiClient, random.Random, ScenarioContext], Awaitable[None]]


@dataclass(frozen=True)
class Scenario:
    name: str
    weight: float  # percent of the mix
    run: ScenarioFn


SCENARIOS: tuple[Scenario, ...] = (
    Scenario("cold_search_email", 35, cold_search_email),
    Scenario("surge_fill_validate", 15, surge_fill_validate),
    Scenario("profile_swap", 15, profile_swap),
    Scenario("repeat_cache", 15, repeat_cache),
    Scenario("sms_validate", 10, sms_validate),
    Scenario("playbook_record_replay", 10, playbook_record_replay),
)
SCENARIO_NAMES: tuple[str, ...] = tuple(scenario.name for scenario in SCENARIOS)


def select_scenarios(names: Sequence[str] | None = None) -> tuple[Scenario, ...]:
    """The mix restricted to ``names`` (weights kept relative), or all six."""
    if not names:
        return SCENARIOS
    unknown = sorted(set(names) - set(SCENARIO_NAMES))
    if unknown:
        raise ValueError(f"unknown scenario(s) {', '.join(unknown)}; choose from {', '.join(SCENARIO_NAMES)}")
    return tuple(scenario for scenario in SCENARIOS if scenario.name in set(names))
