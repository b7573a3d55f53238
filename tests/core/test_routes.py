"""Every /api/v1 endpoint, walked from the URL configuration itself (a new endpoint joins the walk):
both slash forms route to the same view (SPEC §5), and the authorization matrix holds for anonymous
callers, coordinators and operators."""

from __future__ import annotations

import re
from datetime import date

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.test import APIClient

from apps.core.api.slashes import api_path_for, other_slash_form
from apps.orders.services import client_for_name
from apps.orders.models import FillProposal, JobOrder

pytestmark = pytest.mark.django_db

SAMPLE_VALUES = {"order_id": "JO-1", "proposal_id": "1", "name": "workers", "job_id": "1", "pk": "1", "kind": "ingest", "worker_id": "W-1",
                 "interaction_id": "00000000-0000-4000-8000-000000000001"}
COORDINATOR, OPERATOR = "coordinator", "operator"

# Who may call what (SPEC §5). Every (route name, method) the walk finds must be listed here.
REQUIRED_ROLE: dict[tuple[str, str], str] = {
    ("whoami", "GET"): COORDINATOR,
    ("interaction-list", "GET"): OPERATOR,
    ("interaction-detail", "GET"): OPERATOR,
    ("index-list", "GET"): OPERATOR,
    ("index-job", "GET"): OPERATOR,
    ("index-detail", "GET"): OPERATOR,
    ("index-detail", "DELETE"): OPERATOR,
    ("index-rebuild", "POST"): OPERATOR,
    ("index-reembed", "POST"): OPERATOR,
    ("worker-search", "POST"): COORDINATOR,
    ("worker-list", "GET"): COORDINATOR,
    ("worker-detail", "GET"): COORDINATOR,
    ("ingest-list", "GET"): OPERATOR,
    ("ingest-list", "POST"): OPERATOR,
    ("ingest-detail", "GET"): OPERATOR,
    ("order-list", "GET"): COORDINATOR,
    ("order-list", "POST"): OPERATOR,
    ("order-detail", "GET"): COORDINATOR,
    ("order-detail", "PUT"): OPERATOR,
    ("order-detail", "PATCH"): OPERATOR,
    ("order-detail", "DELETE"): OPERATOR,
    ("order-cancel", "POST"): OPERATOR,
    ("order-proposals", "GET"): COORDINATOR,
    ("order-proposals", "POST"): COORDINATOR,
    ("order-accept", "POST"): COORDINATOR,
    ("order-reject", "POST"): COORDINATOR,
    ("order-end-assignment", "POST"): COORDINATOR,
    ("order-history", "GET"): COORDINATOR,
    ("order-import", "POST"): OPERATOR,
    ("do-not-assign-list", "GET"): COORDINATOR,
    ("do-not-assign-list", "POST"): OPERATOR,
    ("do-not-assign-detail", "GET"): COORDINATOR,
    ("do-not-assign-detail", "DELETE"): OPERATOR,
    ("validate-email", "POST"): COORDINATOR,
    ("validate-fill", "POST"): COORDINATOR,
    ("playbook-record", "POST"): COORDINATOR,
    ("playbook-list", "GET"): COORDINATOR,
    ("playbook-detail", "GET"): COORDINATOR,
    ("replay-batch-list", "GET"): COORDINATOR,
    ("replay-batch-list", "POST"): OPERATOR,
    ("replay-batch-detail", "GET"): COORDINATOR,
    ("replay-run-list", "GET"): COORDINATOR,
    ("replay-run-detail", "GET"): COORDINATOR,
    ("evidence-materialize", "POST"): OPERATOR,
    ("evidence-run-list", "GET"): COORDINATOR,
    ("evidence-run-detail", "GET"): COORDINATOR,
    ("evidence-record-list", "GET"): COORDINATOR,
    ("evidence-feedback", "POST"): COORDINATOR,
    ("job-list", "GET"): OPERATOR,
    ("job-detail", "GET"): OPERATOR,
    ("job-cancel", "POST"): OPERATOR,
    ("job-retry", "POST"): OPERATOR,
}


def _walk(patterns, prefix: str = ""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _walk(pattern.url_patterns, prefix + _route(pattern))
        elif isinstance(pattern, URLPattern):
            yield prefix + _route(pattern), pattern


def _route(pattern) -> str:
    return str(pattern.pattern).removeprefix("^").removesuffix("$")


def _concrete(route: str) -> str:
    """A request path for a route, with sample values for its parameters."""
    route = re.sub(r"\(\?P<(\w+)>[^)]*\)", lambda m: SAMPLE_VALUES.get(m.group(1), "x"), route)  # regex routes
    return "/" + re.sub(r"<(?:\w+:)?(\w+)>", lambda m: SAMPLE_VALUES.get(m.group(1), "x"), route)  # path() routes


def _methods(pattern: URLPattern) -> list[str]:
    actions = getattr(pattern.callback, "actions", None)
    if actions:
        return sorted(method.upper() for method in actions)
    view = pattern.callback.cls
    return sorted(m.upper() for m in view.http_method_names if m not in ("options", "head", "trace") and hasattr(view, m))


API_ENDPOINTS = [
    (pattern.name, _concrete(route), method)
    for route, pattern in _walk(get_resolver().url_patterns)
    if route.startswith("api/v1/")
    for method in _methods(pattern)
]


@pytest.fixture
def order_and_proposal(db) -> None:
    order = JobOrder.objects.create(
        order_id="JO-1", client=client_for_name("Acme"), city="Columbus", state="OH", role="forklift_operator", headcount=1, shift="night",
        start_date=date(2026, 12, 7),
    )
    FillProposal.objects.create(pk=1, order=order, worker_ids=["W-1"], ok=True, verdict={"ok": True, "errors": []})


def test_the_walk_finds_every_endpoint_and_the_matrix_names_them_all():
    found = {(name, method) for name, _, method in API_ENDPOINTS}
    assert len(found) >= 35
    assert found == set(REQUIRED_ROLE), {"not in the matrix": found - set(REQUIRED_ROLE), "gone": set(REQUIRED_ROLE) - found}


ROUTES = sorted({(name, path): method for name, path, method in sorted(API_ENDPOINTS, key=lambda e: e[2] != "GET")}.items())


@pytest.mark.parametrize("name, path, method", [(n, p, m) for (n, p), m in ROUTES], ids=[n for (n, _), _ in ROUTES])
def test_both_slash_forms_route_to_the_same_view(name, path, method, staff_client, order_and_proposal):
    resolver = get_resolver()
    routed = {form: resolver.resolve(api_path_for(resolver, form)) for form in (path, other_slash_form(path))}
    assert {m.url_name for m in routed.values()} == {name}
    assert routed[path].kwargs == routed[other_slash_form(path)].kwargs
    # Through the whole stack: the view answers both forms (no routing 404, no 405, no redirect).
    for form in (path, other_slash_form(path)):
        response = _call(staff_client, method, form)
        assert response.status_code not in (301, 302, 405), (form, response.status_code)
        assert not (response.status_code == 404 and response.json()["error"]["message"].startswith("No route")), form


def test_the_reported_slash_failures(coordinator_client):
    """From the issue: `/api/v1/whoami/` was a 404 and `POST /api/v1/workers/search/` a 405."""
    assert coordinator_client.get("/api/v1/whoami/").status_code == 200
    search = coordinator_client.post("/api/v1/workers/search/", {"query": ""}, format="json")
    assert search.status_code == 400 and "query" in search.json()["error"]["fields"]
    assert coordinator_client.post("/api/v1/validate/fill/", {}, format="json").status_code == 400
    assert coordinator_client.get("/api/v1/replay/runs").status_code == 200


def test_the_schema_lists_one_form_per_endpoint(coordinator_client):
    paths = set(coordinator_client.get("/api/schema/", HTTP_ACCEPT="application/json").json()["paths"])
    assert not {p for p in paths if other_slash_form(p) in paths}
    assert "/api/v1/orders/{order_id}/proposals/" in paths and "/api/v1/replay/runs/{run_id}/" in paths


def _call(client: APIClient, method: str, path: str):
    return getattr(client, method.lower())(path, {}, format="json") if method in ("POST", "PUT", "PATCH") else getattr(client, method.lower())(path)


@pytest.mark.parametrize("name, path, method", API_ENDPOINTS, ids=[f"{m} {n}" for n, _, m in API_ENDPOINTS])
def test_authorization_matrix(name, path, method, coordinator_client, staff_client, order_and_proposal):
    required = REQUIRED_ROLE[(name, method)]
    anonymous = _call(APIClient(), method, path)
    assert anonymous.status_code == 401 and anonymous.json()["error"]["code"] == "not_authenticated"
    as_coordinator = _call(coordinator_client, method, path)
    if required == OPERATOR:
        assert as_coordinator.status_code == 403 and as_coordinator.json()["error"]["code"] == "permission_denied"
    else:
        assert as_coordinator.status_code < 500 and as_coordinator.status_code not in (401, 403), as_coordinator.content[:300]
    as_operator = _call(staff_client, method, path)
    assert as_operator.status_code < 500 and as_operator.status_code not in (401, 403), as_operator.content[:300]
