"""Pure pieces of worker search: the request shape, the SQL filter, the plan choice, and scoring.

No database access here — `apps.workers.selectors.nearest_workers` runs what this module plans, and
`apps.search.services` orchestrates a whole search.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections import defaultdict
from dataclasses import dataclass, field
from functools import cached_property
from datetime import date
from typing import Any, Mapping

from apps.workers.geo import bounding_box, great_circle_miles, great_circle_sql, zip_coordinates
from apps.workers.normalize import normalize_city, normalize_role

FILTER_KEYS = ("city", "state", "role", "skills", "certifications", "shift", "available_on", "status")


@dataclass(frozen=True)
class SearchFilters:
    city: str | None = None
    state: str | None = None
    role: str | None = None
    skills: tuple[str, ...] = ()
    certifications: tuple[str, ...] = ()
    shift: str | None = None
    available_on: date | None = None
    status: str = "active"  # do_not_contact workers only when asked for explicitly

    def to_dict(self) -> dict[str, Any]:
        # Field by field: dataclasses.asdict deep-copies recursively, and every search logs its filters.
        data = {
            "city": self.city, "state": self.state, "role": self.role, "skills": list(self.skills),
            "certifications": list(self.certifications), "shift": self.shift,
            "available_on": self.available_on.isoformat() if self.available_on else None, "status": self.status,
        }
        return {k: v for k, v in data.items() if v not in (None, [])}


def search_filters_from_dict(data: Mapping[str, Any] | None) -> SearchFilters:
    """The one place a filter dict (validated API input, a logged request, an order) becomes filters.

    Values are normalized the way ingest stores them, so a filter matches the stored spelling: city as
    ingest spells it, upper-case state, snake-case role, lower-case skills, trimmed certifications
    (both as sorted sets). Normalizing is idempotent, so an already normalized dict passes unchanged.
    """
    data = data or {}
    available_on = data.get("available_on") or None
    if available_on is not None and not isinstance(available_on, date):
        try:
            available_on = date.fromisoformat(str(available_on)[:10])
        except ValueError:  # only stored dicts get here unvalidated (a logged request, an order): no date, no filter
            available_on = None
    return SearchFilters(
        city=normalize_city(data["city"]) or None if data.get("city") else None,
        state=str(data["state"]).strip().upper() or None if data.get("state") else None,
        role=normalize_role(data["role"]) or None if data.get("role") else None,
        skills=tuple(sorted({s.strip().lower() for s in data.get("skills") or () if s and s.strip()})),
        certifications=tuple(sorted({c.strip() for c in data.get("certifications") or () if c and c.strip()})),
        shift=data.get("shift") or None,
        available_on=available_on,
        status=data.get("status") or "active",
    )


RADIUS_MIN_MILES, RADIUS_MAX_MILES = 1, 250


@dataclass(frozen=True)
class Near:
    """Radius search (SPEC §4.3 `near`): workers whose ZIP lies within `radius_miles` of `zip`.

    It replaces the exact city match (a Columbus order reaches Dublin, OH); other filters still apply.
    """

    zip: str
    radius_miles: float
    latitude: float
    longitude: float

    def miles_to(self, latitude: float | None, longitude: float | None) -> float | None:
        if latitude is None or longitude is None:
            return None
        return round(great_circle_miles(self.latitude, self.longitude, latitude, longitude), 1)

    def to_dict(self) -> dict[str, Any]:
        return {"zip": self.zip, "radius_miles": self.radius_miles}


def near_from_dict(data: Mapping[str, Any] | None) -> Near | None:
    """A `near` dict → `Near` with the ZIP's coordinates; ValueError for an unknown ZIP (the API's
    serializer reports that as a 400 before it gets here)."""
    if not data:
        return None
    zip_code = str(data.get("zip") or "").strip()
    coordinates = zip_coordinates(zip_code)
    if coordinates is None:
        raise ValueError(f"unknown ZIP {zip_code!r}")
    radius = float(data.get("radius_miles") or 0)
    if not RADIUS_MIN_MILES <= radius <= RADIUS_MAX_MILES:
        raise ValueError(f"radius_miles must be between {RADIUS_MIN_MILES} and {RADIUS_MAX_MILES}")
    return Near(zip_code, radius, *coordinates)


@dataclass(frozen=True)
class SearchRequest:
    query: str
    k: int = 10
    filters: SearchFilters = field(default_factory=SearchFilters)
    exclude_ids: tuple[str, ...] = ()
    use_playbook: bool = False
    explain: bool = False  # add per-result explanations (SPEC §4.3)
    # The client the search is for (SPEC §3.2a): apps.search adds its do-not-assign list to the
    # excluded ids before the workers app runs the search; the workers app never reads the list.
    client: str | None = None
    near: Near | None = None

    def cache_key(self, *versions: Any) -> str:
        """Identical requests against identical index versions share a key; any write changes it."""
        payload = {
            "q": self.query,
            "k": self.k,
            "f": self.filters.to_dict(),
            "x": sorted(self.exclude_ids),
            "p": self.use_playbook,
            "v": list(versions),
        }
        if self.explain:  # only when asked, so the keys of plain searches stay what they were
            payload["e"] = True
        if self.client:
            payload["c"] = self.client
        if self.near:
            payload["n"] = self.near.to_dict()
        return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def search_request_from_dict(data: Mapping[str, Any]) -> SearchRequest:
    """A search request from its dict form (validated API input or a logged request): filters through
    `search_filters_from_dict`, excluded ids de-duplicated in order."""
    return SearchRequest(
        query=data["query"],
        k=int(data.get("k") or 10),
        filters=search_filters_from_dict(data.get("filters")),
        exclude_ids=tuple(dict.fromkeys(data.get("exclude_ids") or ())),
        use_playbook=bool(data.get("use_playbook")),
        explain=bool(data.get("explain")),
        client=" ".join(str(data.get("client") or "").split()) or None,
        near=near_from_dict(data.get("near")),
    )


VECTOR_COLUMNS = ("embedding", "semantic_embedding")  # lexical (the default) and the optional semantic one


def filter_sql(
    filters: SearchFilters,
    exclude_ids: tuple[str, ...],
    near: Near | None = None,
    vector_column: str = "embedding",
    *,
    with_box: bool = True,
) -> tuple[str, list[Any]]:
    """WHERE clause (without the keyword) and its parameters. Every value is a bound parameter.

    With `near`, the radius replaces the city match: a latitude/longitude box the B-tree answers,
    then the exact great-circle distance on the rows inside it. `with_box=False` leaves the box
    out (the distance alone decides, as exactly) for a graph walk: PostgreSQL underestimates how many
    rows a latitude × longitude box holds (it multiplies the two ranges' selectivities), so with the
    box present it picks the B-tree over a dense metro's ~12k rows instead of the walk the plan chose.
    """
    if vector_column not in VECTOR_COLUMNS:
        raise ValueError(f"unknown vector column {vector_column!r}")
    clauses = [f"{vector_column} IS NOT NULL", "status = %s"]
    params: list[Any] = [filters.status]
    for column in ("state", "role") if near else ("state", "city", "role"):
        value = getattr(filters, column)
        if value:
            clauses.append(f"{column} = %s")
            params.append(value)
    if near and with_box:
        box = bounding_box(near.latitude, near.longitude, near.radius_miles)
        clauses.append("latitude BETWEEN %s AND %s")
        params += [box.min_lat, box.max_lat]
        if box.min_lon is not None:
            clauses.append("longitude BETWEEN %s AND %s")
            params += [box.min_lon, box.max_lon]
    if near:
        clauses.append(f"{great_circle_sql('latitude', 'longitude')} <= %s")
        params += [near.latitude, near.latitude, near.longitude, near.radius_miles]
    if filters.skills:
        clauses.append("skills && %s::text[]")  # any of
        params.append(list(filters.skills))
    if filters.certifications:
        clauses.append("certifications @> %s::text[]")  # all of
        params.append(list(filters.certifications))
    if filters.shift:
        clauses.append("%s = ANY(shift_preference)")
        params.append(filters.shift)
    if filters.available_on:
        clauses.append("(available_from IS NULL OR available_from <= %s)")
        params.append(filters.available_on)
    if exclude_ids:
        clauses.append("NOT (worker_id = ANY(%s::text[]))")
        params.append(list(exclude_ids))
    return " AND ".join(clauses), params


# Distinct filter shapes remembered per CorpusStats (a few KB each way).
BASE_ROWS_MEMO = 4096


@dataclass(frozen=True)
class CorpusStats:
    """Counts that let the planner of a search estimate how many rows a filter keeps, in memory.

    Built once per `workers` index version (one GROUP BY over the table), so it never goes stale.
    """

    total: int
    by_key: dict[tuple[str, str, str, str], int]  # (state, city, role, status) → rows
    skill_rows: dict[str, int]
    cert_rows: dict[str, int]
    shift_rows: dict[str, int]
    # (latitude, longitude, state, role, status) → rows: radius estimates are exact too.
    by_place: dict[tuple[float, float, str, str, str], int] = field(default_factory=dict)

    @cached_property
    def _places(self) -> dict[tuple[float, float], list[tuple[str, str, str, int]]]:
        """`by_place` grouped by coordinates: a radius estimate computes one distance per place (~200
        ZIP centroids at 100k), not one per (place, state, role, status) row (~9,000, ~7 ms of Python)."""
        places: dict[tuple[float, float], list[tuple[str, str, str, int]]] = defaultdict(list)
        for (latitude, longitude, state, role, status), n in self.by_place.items():
            places[(latitude, longitude)].append((state, role, status, n))
        return places

    @cached_property
    def _base_rows(self) -> dict[tuple, int]:
        """Memo of `_count_base` per (status, state, city, role, place): a search's filters repeat, and
        the scan over `by_key` (~9,000 groups at 100k) cost ~0.3 ms of every search. Bounded: past
        BASE_ROWS_MEMO entries the memo starts over."""
        return {}

    def estimate(self, filters: SearchFilters, near: Near | None = None) -> float:
        """Estimated matching rows: exact for state/city/role/status and radius, independence for the rest."""
        if self.total == 0:
            return 0.0
        place = (near.latitude, near.longitude, near.radius_miles) if near else None
        memo_key = (filters.status, filters.state, None if near else filters.city, filters.role, place)
        base = self._base_rows.get(memo_key)
        if base is None:
            if len(self._base_rows) >= BASE_ROWS_MEMO:
                self._base_rows.clear()
            base = self._base_rows[memo_key] = self._count_base(filters, near)
        fraction = 1.0
        if filters.skills:
            any_of = sum(self.skill_rows.get(s, 0) for s in filters.skills) / self.total
            fraction *= min(1.0, any_of)
        for cert in filters.certifications:
            fraction *= self.cert_rows.get(cert, 0) / self.total
        if filters.shift:
            fraction *= self.shift_rows.get(filters.shift, 0) / self.total
        return base * fraction

    def _count_base(self, filters: SearchFilters, near: Near | None) -> int:
        """Rows matching status, state, role and the city or the radius: exact, from the groups."""
        if near:
            base = sum(
                n
                for (latitude, longitude), groups in self._places.items()
                if great_circle_miles(near.latitude, near.longitude, latitude, longitude) <= near.radius_miles
                for state, role, status, n in groups
                if status == filters.status
                and (not filters.state or state == filters.state)
                and (not filters.role or role == filters.role)
            )
        else:
            base = sum(
                n
                for (state, city, role, status), n in self.by_key.items()
                if status == filters.status
                and (not filters.state or state == filters.state)
                and (not filters.city or city == filters.city)
                and (not filters.role or role == filters.role)
            )
        return base


@dataclass(frozen=True)
class SearchPlan:
    path: str  # "hnsw" or "exact"
    ef_search: int
    estimated_rows: float


# ef_search added per excluded id. On the ef_construction 64 graph 6 left a profile swap of 50 at
# recall@10 0.944 (halfvec, 100k) and 10 gave 0.96; the ef_construction 160 graph gives 0.99 with 5,
# in less time than 10 (benchmarks/README.md).
EF_PER_EXCLUDED_ID = 5
# The widest graph walk a search plans (pgvector's own limit for hnsw.ef_search is 1,000).
MAX_EF_SEARCH = 1000


def plan_search(
    request: SearchRequest, stats: CorpusStats, *, base_ef: int, exact_max_rows: int, max_ef: int = MAX_EF_SEARCH, iterative: bool = False
) -> SearchPlan:
    """Pick the access path.

    pgvector's HNSW scan applies WHERE after the graph walk, so a selective filter starves it. When the
    filter keeps few rows an exact scan over exactly those rows (B-tree/GIN → distance → sort) is both
    exact and cheap; otherwise walk the graph. A walk that stops at ef_search candidates (`iterative`
    false: pgvector < 0.8) gets ef_search widened by the inverse selectivity, so the candidate list is
    expected to hold k survivors twice over; an iterative scan resumes by itself until enough rows pass,
    and widening it too only made every filtered walk longer: at 100k, ef_search 100 instead of the
    selectivity's 195–400 took walks for one role from 6.97 to 3.77 ms (p50), for one city from 4.66 to
    3.04 and for one state from 3.77 to 2.73, at recall@10 0.995, 1.0 and 1.0 (benchmarks/README.md,
    twelfth pass). The caller still checks for a short result and falls back to the exact path, so the
    plan only decides speed, never correctness.
    """
    estimated = max(0.0, stats.estimate(request.filters, request.near) - len(request.exclude_ids))
    if estimated <= exact_max_rows:
        return SearchPlan("exact", base_ef, estimated)
    # Excluded ids are usually the previous nearest results (profile swap): the walk must get past them.
    # Each one that sits among the nearest also pushes the k-th true neighbour deeper into the candidate
    # list, and the walk's accuracy near its tail is what recall depends on: EF_PER_EXCLUDED_ID each.
    ef = base_ef + EF_PER_EXCLUDED_ID * len(request.exclude_ids)
    if not iterative:
        selectivity = max(estimated / max(stats.total, 1), 1e-6)
        ef = max(ef, math.ceil(2.0 * (request.k + len(request.exclude_ids)) / selectivity))
    return SearchPlan("hnsw", int(min(max_ef, ef)), estimated)


def weigh_walk(plan: SearchPlan, neighbourhood_pass_rate: float | None, *, candidates: int, walk_row_cost: float) -> SearchPlan:
    """The exact path instead of a planned graph walk that would meet more rows than the filter keeps.

    The walk meets about `candidates` ÷ the share of the query's neighbourhood that passes the filters
    (`apps.workers.walk_floor.WalkFloor.neighbourhood_pass_rate`), each row costing `walk_row_cost`
    times a row of the exact path, which reads the estimated rows once. 0 turns the weighing off."""
    if plan.path != "hnsw" or neighbourhood_pass_rate is None or walk_row_cost <= 0:
        return plan
    if plan.estimated_rows * neighbourhood_pass_rate <= walk_row_cost * candidates:
        return SearchPlan("exact", plan.ef_search, plan.estimated_rows)
    return plan


# The walk again after the walk floor showed a miss (apps.workers.walk_floor). At 100k, of 32 unfiltered
# walks lost at ef_search 100, 31 found their true top 10 at 400 (recall@10 0.75–0.83 at 200 and 300);
# both profile swaps lost at their planned 350 did at 700 and at 1,000, neither at 400
# (`python -m benchmarks.bench_widened_walk`, benchmarks/README.md). A walk the floor still flags
# after this one takes the exact path.
WIDENED_EF_SEARCH = 400
WIDEN_FACTOR = 2


def widened_ef_search(planned_ef: int) -> int:
    """The ef_search of the second walk: at least WIDENED_EF_SEARCH, at least twice the planned walk."""
    return min(MAX_EF_SEARCH, max(WIDENED_EF_SEARCH, WIDEN_FACTOR * planned_ef))
