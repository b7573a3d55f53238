"""GET /api/v1/interactions/ and /{id}/ (SPEC §3.5): operators read the log a workflow response points at."""

from __future__ import annotations

import pytest

from apps.interactions.choices import InteractionKind
from apps.interactions.services import log_interaction

pytestmark = pytest.mark.django_db


def test_a_search_response_names_an_interaction_operators_can_read_and_filter(staff_client, coordinator_client, search_corpus):
    body = coordinator_client.post("/api/v1/workers/search", {"query": "forklift operator", "k": 3}, format="json").json()
    interaction_id = body["interaction_id"]
    log_interaction(kind=InteractionKind.VALIDATE_SMS, actor="someone-else", request={"body": "hi"}, response={"ok": True})

    detail = staff_client.get(f"/api/v1/interactions/{interaction_id}/")
    assert detail.status_code == 200
    row = detail.json()
    assert row["id"] == interaction_id and row["kind"] == "search" and row["request"]["query"] == "forklift operator"

    searches = staff_client.get("/api/v1/interactions/", {"kind": "search"}).json()
    assert interaction_id in [r["id"] for r in searches["results"]] and {r["kind"] for r in searches["results"]} == {"search"}
    mine = staff_client.get("/api/v1/interactions/", {"actor": "someone-else"}).json()
    assert [r["kind"] for r in mine["results"]] == ["validate_sms"]
    assert staff_client.get("/api/v1/interactions/", {"day": "1999-01-01"}).json()["count"] == 0

    assert coordinator_client.get("/api/v1/interactions/").status_code == 403
    assert staff_client.get("/api/v1/interactions/00000000-0000-4000-8000-000000000001/").status_code == 404
