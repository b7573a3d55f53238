"""A cancelled order is closed (apps.orders.services.order_closed_reason, the one rule): the service
refuses a change or a decision and writes nothing; the API answers 400 `order_closed` in the envelope;
the admin's page is read-only and says why, with no Save button. On the real database."""

from __future__ import annotations

from datetime import date

import pytest

from apps.core.errors import Conflict, InvalidInput
from apps.interactions.models import Interaction
from apps.orders import services
from apps.orders.models import FillProposal, JobOrder
from apps.workers.models import Worker

pytestmark = pytest.mark.django_db


@pytest.fixture
def cancelled() -> tuple[JobOrder, FillProposal]:
    """JO-5 with one accepted proposal (W-C1, W-C2), then cancelled."""
    for n in (1, 2):
        Worker.objects.create(worker_id=f"W-C{n}", first_name="Ana", city="Testville", state="OH", role="forklift_operator",
                              shift_preference=["night"], status="active")
    services.order_create(order_id="JO-5", client="Acme", city="Testville", state="OH", role="forklift_operator", headcount=2,
                          shift="night", start_date=date(2099, 1, 5))
    proposal = services.proposal_create(order_id="JO-5", worker_ids=["W-C1", "W-C2"])
    services.proposal_accept(order_id="JO-5", proposal_id=proposal.pk)
    services.order_cancel(order_id="JO-5", actor="ops", note="site closed")
    return JobOrder.objects.get(order_id="JO-5"), proposal


def _snapshot(order_id: str) -> tuple:
    order = JobOrder.objects.get(order_id=order_id)
    return order.status, order.headcount, order.city, order.updated_at, Interaction.objects.count()


def test_an_open_order_is_not_closed_and_a_cancelled_one_says_why(cancelled):
    order, _ = cancelled
    assert "JO-5 is cancelled" in services.order_closed_reason(order)
    assert services.order_closed_reason(services.order_create(
        order_id="JO-6", client="Acme", city="Testville", state="OH", role="welder", headcount=1, shift="day", start_date=date(2099, 1, 5),
    )) == ""


def test_the_service_refuses_to_change_a_cancelled_order_and_writes_nothing(cancelled):
    order, _ = cancelled
    before = _snapshot("JO-5")
    with pytest.raises(InvalidInput) as refused:
        services.order_update(order=order, headcount=3, city="Dayton")
    assert refused.value.code == "order_closed" and "cancelled" in refused.value.fields["status"][0]
    assert _snapshot("JO-5") == before


def test_a_change_from_a_copy_read_before_the_cancel_is_refused_not_written_back_as_open(cancelled):
    """The admin and the API hold an instance read before they save: a cancel committed in between must
    win (the service re-reads the row under its lock), never be overwritten by the stale `open`."""
    stale = JobOrder.objects.get(order_id="JO-5")
    stale.status = "open"  # as read before the cancel committed
    with pytest.raises(InvalidInput):
        services.order_update(order=stale, headcount=3)
    assert JobOrder.objects.get(order_id="JO-5").status == "cancelled"


def test_no_decision_on_a_cancelled_order(cancelled):
    order, accepted = cancelled
    before = _snapshot("JO-5")
    with pytest.raises(Conflict) as refused:
        services.proposal_reject(order_id="JO-5", proposal_id=accepted.pk, note="too late")
    assert refused.value.code == "order_closed"
    with pytest.raises(Conflict):
        services.proposal_create(order_id="JO-5", worker_ids=["W-C1", "W-C2"])
    with pytest.raises(Conflict) as refused:
        services.assignment_end(order_id="JO-5", worker_id="W-C1", reason="no_show")
    assert refused.value.code == "order_closed"
    assert FillProposal.objects.get(pk=accepted.pk).status == "accepted" and _snapshot("JO-5") == before


@pytest.mark.parametrize("method", ["patch", "put"])
def test_the_api_answers_400_order_closed_and_changes_nothing(cancelled, staff_client, method):
    before = _snapshot("JO-5")
    body = {"headcount": 3} if method == "patch" else {
        "order_id": "JO-5", "client": "Acme", "city": "Dayton", "state": "OH", "role": "forklift_operator", "headcount": 3, "shift": "night",
        "start_date": "2099-01-05",
    }
    response = getattr(staff_client, method)("/api/v1/orders/JO-5/", body, format="json")
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "order_closed" and "cancelled" in error["message"]
    assert list(error["fields"]) == ["status"]
    assert _snapshot("JO-5") == before
    # Reading it is still fine, and the API keeps the role's slug (the contract).
    assert staff_client.get("/api/v1/orders/JO-5/").json()["role"] == "forklift_operator"


def test_an_open_order_still_changes_through_the_api(cancelled, staff_client):
    services.order_create(order_id="JO-6", client="Acme", city="Testville", state="OH", role="welder", headcount=1, shift="day",
                          start_date=date(2099, 1, 5))
    assert staff_client.patch("/api/v1/orders/JO-6/", {"headcount": 2}, format="json").json()["headcount"] == 2


def test_the_admin_page_of_a_cancelled_order_is_read_only_and_says_why(cancelled, operator_console):
    order, _ = cancelled
    page = operator_console.get(f"/admin/orders/joborder/{order.pk}/change/").content.decode()
    assert 'id="order-closed"' in page and "JO-5 is cancelled" in page
    assert 'name="_save"' not in page and 'name="_continue"' not in page and 'name="_addanother"' not in page
    assert 'name="city"' not in page and 'name="headcount"' not in page  # values shown, not inputs
    assert 'id="order-history"' in page and "site closed" in page  # the history stays, with the cancel's note

    open_order = services.order_create(order_id="JO-6", client="Acme", city="Testville", state="OH", role="welder", headcount=1,
                                       shift="day", start_date=date(2099, 1, 5))
    editable = operator_console.get(f"/admin/orders/joborder/{open_order.pk}/change/").content.decode()
    assert 'name="_save"' in editable and 'id="order-closed"' not in editable


def test_a_form_sent_to_a_cancelled_order_is_refused_with_the_reason(cancelled, operator_console):
    order, _ = cancelled
    before = _snapshot("JO-5")
    form = {
        "order_id": "JO-5", "client": "Acme", "city": "Dayton", "state": "OH", "site_zip": "", "role": "forklift_operator",
        "headcount": "3", "shift": "night", "start_date": "2099-01-05", "end_date": "", "required_certifications": "",
        "proposals-TOTAL_FORMS": "0", "proposals-INITIAL_FORMS": "0", "proposals-MIN_NUM_FORMS": "0", "proposals-MAX_NUM_FORMS": "1000",
    }
    response = operator_console.post(f"/admin/orders/joborder/{order.pk}/change/", form, follow=True)
    assert response.status_code == 200 and "Not saved. Order JO-5 is cancelled" in response.content.decode()
    assert _snapshot("JO-5") == before
