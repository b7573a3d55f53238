"""The interaction log's console page: read-only, and one search box that matches an id, a kind or an actor."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from apps.interactions.models import Interaction

pytestmark = pytest.mark.django_db

AT = datetime(2026, 11, 20, 9, 0, tzinfo=timezone.utc)


@pytest.fixture
def rows() -> dict[str, Interaction]:
    make = lambda kind, actor: Interaction.objects.create(kind=kind, occurred_at=AT, actor=actor, request={"who": actor}, response={})
    return {
        "sms": make("validate_sms", "maria.coordinator"),
        "search": make("search", "sam.ops"),
        "fill": make("validate_fill", "maria.lead"),
    }


def _found(admin_client, rows: dict[str, Interaction], term: str) -> set[str]:
    page = admin_client.get("/admin/interactions/interaction/", {"q": term})
    assert page.status_code == 200
    html = page.content.decode()
    return {name for name, row in rows.items() if f"/admin/interactions/interaction/{row.pk}/change/" in html}


def test_search_matches_id_kind_or_actor_and_says_so(admin_client, rows):
    page = admin_client.get("/admin/interactions/interaction/").content.decode()
    assert "Interaction id (whole uuid, exact), kind" in page and "Add interaction" not in page

    assert _found(admin_client, rows, str(rows["search"].pk)) == {"search"}
    assert _found(admin_client, rows, "validate_sms") == {"sms"}
    assert _found(admin_client, rows, "VALIDATE_FILL") == {"fill"}
    assert _found(admin_client, rows, "maria") == {"sms", "fill"}
    assert _found(admin_client, rows, "nobody") == set()
    assert _found(admin_client, rows, "3f2504e0-4f89-11d3-9a0c-0305e82c3301") == set()  # a well-formed id of nothing

    detail = admin_client.get(f"/admin/interactions/interaction/{rows['sms'].pk}/change/").content.decode()
    assert "maria.coordinator" in detail and 'name="kind"' not in detail
