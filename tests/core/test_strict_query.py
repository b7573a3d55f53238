"""List endpoints refuse malformed query values with a field-level 400 instead of ignoring them
(SPEC §5; apps.core.api.query): django-filter and DRF's pagination used to answer an unfiltered
default page to `?day=`, `?sms_opt_out=0.5` or `?page_size=1.5`."""

from __future__ import annotations

import pytest
from django.urls import get_resolver
from django.utils import timezone

from apps.core.api.filtersets import StrictFilterBackend, StrictFilterSet
from apps.core.api.query import GIVE_ONCE, NOT_EMPTY, TRUE_OR_FALSE
from apps.interactions.models import Interaction

pytestmark = pytest.mark.django_db


def _fields(response) -> dict:
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "invalid"
    return error["fields"]


@pytest.mark.parametrize(
    "path, query, fields",
    [
        ("/api/v1/interactions/", "day=", {"day": [NOT_EMPTY]}),
        ("/api/v1/interactions/", "day=yesterday", {"day": ["Enter a valid date."]}),
        ("/api/v1/interactions/", "kind=", {"kind": [NOT_EMPTY]}),
        ("/api/v1/workers/", "sms_opt_out=0.5", {"sms_opt_out": [TRUE_OR_FALSE]}),
        ("/api/v1/workers/", "sms_opt_out=", {"sms_opt_out": [NOT_EMPTY]}),
        ("/api/v1/workers/", "status=active&status=inactive", {"status": [GIVE_ONCE]}),
        ("/api/v1/orders/", "state=", {"state": [NOT_EMPTY]}),  # a filterset_fields view: strict through the backend
        ("/api/v1/replay/runs/", "regression=maybe", {"regression": [TRUE_OR_FALSE]}),
        ("/api/v1/workers/", "page_size=1.5", {"page_size": ["A whole number is required."]}),
        ("/api/v1/workers/", "page_size=501", {"page_size": ["Must be at most 500."]}),
        ("/api/v1/workers/", "page_size=0", {"page_size": ["Must be at least 1."]}),
        ("/api/v1/workers/", "page=abc&page_size=", {"page": ["A whole number is required."], "page_size": ["A whole number is required."]}),
        ("/api/v1/workers/", "page=1&page=2", {"page": [GIVE_ONCE]}),
        ("/api/v1/jobs/", "kind=&page_size=x", {"kind": [NOT_EMPTY]}),
        ("/api/v1/jobs/", "page=0", {"page": ["Must be at least 1."]}),
    ],
)
def test_malformed_query_values_are_a_400_naming_the_parameter(staff_client, path, query, fields):
    assert _fields(staff_client.get(f"{path}?{query}")) == fields


def test_well_formed_queries_still_filter_and_free_text_may_be_empty(staff_client):
    Interaction.objects.create(kind="search", occurred_at=timezone.now(), actor="ann", request={}, response={})
    assert staff_client.get("/api/v1/interactions/?kind=search&day=&actor=ann").status_code == 400
    assert staff_client.get("/api/v1/interactions/?kind=search&actor=ann").json()["count"] == 1
    assert staff_client.get("/api/v1/interactions/?kind=chat").json()["count"] == 0
    # An empty free-text filter is an empty text: it filters on nothing (and the schema allows "").
    assert staff_client.get("/api/v1/interactions/?actor=").json()["count"] == 1
    # Unknown parameters are tolerated (cache-busters): schemathesis does not count them as invalid data.
    assert staff_client.get("/api/v1/interactions/?_=123").json()["count"] == 1
    assert staff_client.get("/api/v1/workers/?sms_opt_out=true&page_size=500").status_code == 200
    assert staff_client.get("/api/v1/workers/?sms_opt_out=0").status_code == 200  # NullBooleanField's spellings


def test_a_page_past_the_last_is_a_404_even_a_huge_one(staff_client):
    for path in ("/api/v1/workers/", "/api/v1/jobs/"):
        # Other tests' committed rows (a search corpus) may be there: the page after the last, whatever it is.
        count = staff_client.get(path, {"page_size": 500}).json()["count"]
        for page in (str(max(1, -(-count // 500)) + 1), "9" * 40):
            response = staff_client.get(path, {"page": page, "page_size": 500})
            assert response.status_code == 404, (path, page, response.content)
            assert response.json()["error"]["code"] == "not_found"


def test_every_list_filterset_is_strict_and_a_lenient_one_is_refused():
    views = {getattr(p.callback, "cls", None) for p in _patterns(get_resolver())}
    filtersets = {v.filterset_class for v in views if getattr(v, "filterset_class", None)}
    assert len(filtersets) >= 8 and all(issubclass(f, StrictFilterSet) for f in filtersets), filtersets

    import django_filters
    from rest_framework.generics import ListAPIView

    class Lenient(django_filters.FilterSet):
        class Meta:
            model = Interaction
            fields = ["kind"]

    view = ListAPIView(filterset_class=Lenient)
    with pytest.raises(TypeError, match="StrictFilterSet"):
        StrictFilterBackend().get_filterset_class(view, Interaction.objects.all())


def test_the_schema_states_the_page_bounds_and_refuses_nul_in_query_text(staff_client):
    schema = staff_client.get("/api/schema/?format=json").json()
    parameters = {p["name"]: p["schema"] for p in schema["paths"]["/api/v1/workers/"]["get"]["parameters"]}
    assert parameters["page"] == {"type": "integer", "minimum": 1}
    assert parameters["page_size"] == {"type": "integer", "minimum": 1, "maximum": 500}
    assert parameters["city"] == {"type": "string", "pattern": "^[^\\x00]*$"}
    assert parameters["sms_opt_out"] == {"type": "boolean"}
    replay = {p["name"]: p["schema"] for p in schema["paths"]["/api/v1/replay/runs/"]["get"]["parameters"]}
    assert replay["regression"] == {"type": "boolean"}
    jobs = {p["name"]: p["schema"] for p in schema["paths"]["/api/v1/jobs/"]["get"]["parameters"]}
    assert jobs["page_size"] == parameters["page_size"]


def _patterns(resolver):
    for pattern in resolver.url_patterns:
        if hasattr(pattern, "url_patterns"):
            yield from _patterns(pattern)
        else:
            yield pattern
