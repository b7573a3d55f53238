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
    assert staff_client.patch("/api/v1/orders/JO-7/", {"status": "filled"}, format="json").json()["status"] == "filled"
    assert staff_client.delete("/api/v1/orders/JO-7/").status_code == 204
    assert not JobOrder.objects.exists()


@pytest.mark.parametrize(
    "change, field",
    [({"headcount": 0}, "headcount"), ({"shift": "noon"}, "shift"), ({"end_date": "2026-12-01"}, "end_date"), ({"state": "Ohio"}, "state")],
)
def test_bad_orders_are_400(staff_client, change, field):
    response = staff_client.post("/api/v1/orders/", dict(ORDER, **change), format="json")
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]
    assert not JobOrder.objects.exists()
