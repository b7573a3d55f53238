import pytest

from apps.orders.models import JobOrder

pytestmark = pytest.mark.django_db

ORDER = {
    "order_id": "JO-7", "client": "Acme", "city": "Columbus", "state": "oh", "role": "forklift_operator",
    "headcount": 2, "shift": "night", "start_date": "2026-12-07", "required_certifications": ["OSHA-10"],
}


def test_staff_manage_orders_and_coordinators_read_them(staff_client, coordinator_client):
    created = staff_client.post("/api/v1/orders/", ORDER, format="json")
    assert created.status_code == 201, created.content
    assert created.json()["state"] == "OH" and created.json()["created_by"] == "operator"
    assert coordinator_client.get("/api/v1/orders/JO-7/").json()["order_id"] == "JO-7"
    assert coordinator_client.get("/api/v1/orders/", {"status": "open"}).json()["count"] == 1
    assert coordinator_client.post("/api/v1/orders/", dict(ORDER, order_id="JO-8"), format="json").status_code == 403
    assert coordinator_client.patch("/api/v1/orders/JO-7/", {"headcount": 3}, format="json").status_code == 403
    assert staff_client.patch("/api/v1/orders/JO-7/", {"headcount": 3}, format="json").json()["headcount"] == 3
    assert staff_client.delete("/api/v1/orders/JO-7/").status_code == 204
    assert not JobOrder.objects.exists()


@pytest.mark.parametrize(
    "change, field",
    [
        ({"headcount": 0}, "headcount"), ({"shift": "noon"}, "shift"), ({"end_date": "2026-12-01"}, "end_date"), ({"state": "Ohio"}, "state"),
        # SPEC §3.2: a real USPS code, a role from the vocabulary, an order_id without '/' or spaces, a 5-digit ZIP.
        ({"state": "ZZ"}, "state"), ({"role": "Forklift Driver"}, "role"), ({"order_id": "JO/7"}, "order_id"),
        ({"order_id": "-JO7"}, "order_id"), ({"order_id": "J" * 65}, "order_id"), ({"site_zip": "4321"}, "site_zip"),
    ],
)
def test_bad_orders_are_400(staff_client, change, field):
    response = staff_client.post("/api/v1/orders/", dict(ORDER, **change), format="json")
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]
    assert not JobOrder.objects.exists()


def test_a_taken_order_id_is_a_400_naming_it_and_changes_nothing(staff_client):
    assert staff_client.post("/api/v1/orders/", ORDER, format="json").status_code == 201
    again = staff_client.post("/api/v1/orders/", dict(ORDER, city="Dayton"), format="json")
    assert again.status_code == 400, again.content  # bad input in the body (SPEC §5), whatever the schema allows
    assert again.json()["error"]["code"] == "invalid"
    assert again.json()["error"]["fields"] == {"order_id": ["job order with this order id already exists."]}
    assert JobOrder.objects.get().city == "Columbus"


def test_an_order_keeps_its_site_zip_and_status_is_not_writable(staff_client):
    created = staff_client.post("/api/v1/orders/", dict(ORDER, site_zip="43215", status="filled"), format="json").json()
    assert (created["site_zip"], created["status"]) == ("43215", "open")


def test_a_valid_order_is_valid_for_its_own_fills(staff_client, coordinator_client):
    """The bug behind the vocabulary rule: an order for role 'Forklift Driver' in 'ZZ' could be stored,
    and every worker then failed with ROLE_MISMATCH. A stored order's role and state are the workers'."""
    from apps.workers.models import Worker

    for worker_id in ("W-1", "W-2"):
        Worker.objects.create(
            worker_id=worker_id, first_name="Ana", city="Columbus", state="OH", role="forklift_operator",
            certifications=["OSHA-10"], shift_preference=["night"], status="active",
        )
    assert staff_client.post("/api/v1/orders/", ORDER, format="json").status_code == 201
    verdict = coordinator_client.post("/api/v1/validate/fill", {"order_id": "JO-7", "worker_ids": ["W-1", "W-2"]}, format="json").json()
    assert verdict.pop("interaction_id") and verdict == {"ok": True, "errors": []}
