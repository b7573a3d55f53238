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


def test_search_finds_the_decisions_on_an_order_or_a_worker_and_links_them(admin_client, rows):
    from apps.orders.services import order_create
    from apps.workers.models import Worker

    worker = Worker.objects.create(worker_id="W-7", first_name="Ana", city="Columbus", state="OH", role="forklift_operator", status="active")
    order = order_create(order_id="JO-7", client="Acme", city="Columbus", state="OH", role="forklift_operator", headcount=1, shift="night",
                         start_date="2026-12-07")
    make = lambda order_id, worker_ids: Interaction.objects.create(
        kind="proposal_created", occurred_at=AT, actor="maria", request={}, response={}, order_id=order_id, worker_ids=worker_ids
    )
    rows["decision"], rows["other"] = make("JO-7", ["W-7", "W-8"]), make("JO-8", ["W-8"])

    assert _found(admin_client, rows, "JO-7") == {"decision"}
    assert _found(admin_client, rows, "W-7") == {"decision"}
    assert _found(admin_client, rows, "W-8") == {"decision", "other"}
    detail = admin_client.get(f"/admin/interactions/interaction/{rows['decision'].pk}/change/").content.decode()
    assert f'href="/admin/orders/joborder/{order.pk}/change/"' in detail
    assert f'href="/admin/workers/worker/{worker.pk}/change/">W-7</a>, W-8' in detail
