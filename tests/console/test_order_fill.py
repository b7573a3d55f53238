"""The fill page's assignment ends without a browser (apps/console/order_fill.py): who may end one, what
a refusal looks like, and when the page offers backfill candidates. The browser walk-through is in
tests/admin/test_fulfilment_browser.py."""

from __future__ import annotations

from datetime import date

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.test import Client

from apps.orders import services
from apps.orders.models import AssignmentEnd, JobOrder
from apps.orders.selectors import assignment_end_notes
from tests.admin.records import add_worker
from tests.console_sessions import console_session

pytestmark = pytest.mark.django_db


@pytest.fixture
def filled_order() -> JobOrder:
    # Testville and W-X ids: neither is in the session's search corpus, which may share the database.
    for n in range(1, 5):
        add_worker(f"W-X090{n}", city="Testville")
    services.order_create(order_id="JO-77", client="Acme", city="Testville", state="OH", role="forklift_operator", headcount=2,
                          shift="night", start_date=date(2099, 1, 5), required_certifications=["OSHA-10"])
    proposal = services.proposal_create(order_id="JO-77", worker_ids=["W-X0901", "W-X0902"])
    services.proposal_accept(order_id="JO-77", proposal_id=proposal.pk)
    return JobOrder.objects.get(order_id="JO-77")


def _end(client: Client, order: JobOrder, worker_id: str, reason: str, note: str = ""):
    return client.post(f"/admin/orders/joborder/{order.pk}/fill/", {"action": "end_assignment", "worker_id": worker_id, "reason": reason, "note": note},
                       follow=True)


def test_a_completed_assignment_keeps_the_order_filled_and_offers_no_backfill(filled_order):
    coordinator = console_session("coord", coordinator_console=True)
    page = _end(coordinator, filled_order, "W-X0901", "completed", "finished the week").content.decode()
    assert "the seat stays taken" in page and 'id="candidates"' not in page
    assert JobOrder.objects.get(pk=filled_order.pk).status == "filled"
    assert AssignmentEnd.objects.get().reason == "completed"
    assert assignment_end_notes("JO-77") == {"W-X0901": "finished the week"}  # kept in the order's history


def test_a_decline_offers_backfill_candidates_until_a_proposal_covers_the_seat(filled_order):
    operator = console_session("op", staff=True)  # operators do everything coordinators do
    page = _end(operator, filled_order, "W-X0902", "declined").content.decode()
    assert "Backfill candidates" in page and 'data-worker="W-X0903"' in page and 'data-worker="W-X0904"' in page
    assert 'class="candidate' in page and 'data-worker="W-X0902"' not in page.split('id="candidates"')[1].split('id="proposals"')[0]
    services.proposal_create(order_id="JO-77", worker_ids=["W-X0903"])
    assert 'id="candidates"' not in operator.get(f"/admin/orders/joborder/{filled_order.pk}/fill/").content.decode()


def test_ending_needs_the_permission_and_a_refusal_is_a_message_not_a_crash(filled_order):
    viewer = get_user_model().objects.create_user("viewer", password="pw-for-tests", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_joborder"))
    client = Client()
    client.force_login(viewer)
    assert 'id="end-W-X0901"' not in client.get(f"/admin/orders/joborder/{filled_order.pk}/fill/").content.decode()
    assert _end(client, filled_order, "W-X0901", "no_show").status_code == 403
    assert not AssignmentEnd.objects.exists()

    coordinator = console_session("coord", coordinator_console=True)
    assert 'id="end-W-X0901"' in coordinator.get(f"/admin/orders/joborder/{filled_order.pk}/fill/").content.decode()
    assert "Unknown reason" in _end(coordinator, filled_order, "W-X0901", "vanished").content.decode()
    assert "no accepted assignment" in _end(coordinator, filled_order, "W-X0999", "no_show").content.decode()
    assert _end(coordinator, filled_order, "W-X0901", "no_show").status_code == 200
    again = _end(coordinator, filled_order, "W-X0901", "declined")
    assert again.status_code == 200 and "has already ended" in again.content.decode()
    assert list(AssignmentEnd.objects.values_list("worker_id", "reason")) == [("W-X0901", "no_show")]


def _decide(client: Client, order: JobOrder, **form):
    return client.post(f"/admin/orders/joborder/{order.pk}/fill/", form, follow=True)


def _history_note(kind: str) -> str:
    from apps.orders.selectors import order_history

    return order_history("JO-77").filter(kind=kind).first().request["note"]  # the newest of its kind


def test_accept_reject_and_cancel_take_a_note_into_the_orders_history(filled_order):
    coordinator = console_session("coord", coordinator_console=True)
    services.order_update(order=filled_order, headcount=3)  # one open seat, two proposals for it
    pending = services.proposal_create(order_id="JO-77", worker_ids=["W-X0903"])
    later = services.proposal_create(order_id="JO-77", worker_ids=["W-X0904"])
    page = coordinator.get(f"/admin/orders/joborder/{filled_order.pk}/fill/").content.decode()
    assert f'id="decision-note-{pending.pk}"' in page and 'id="cancel-order-form"' not in page  # cancelling is an operator's

    _decide(coordinator, filled_order, action="accept", proposal_id=pending.pk, note="  client asked for her by name  ")
    _decide(coordinator, filled_order, action="reject", proposal_id=later.pk, note="no forklift card on file")
    assert _history_note("proposal_accepted") == "client asked for her by name"
    assert _history_note("proposal_rejected") == "no forklift card on file"
    assert coordinator.post(f"/admin/orders/joborder/{filled_order.pk}/fill/", {"action": "cancel_order"}).status_code == 403
    assert JobOrder.objects.get(pk=filled_order.pk).status == "filled"

    operator = console_session("op", staff=True)
    assert 'id="cancel-order-form"' in operator.get(f"/admin/orders/joborder/{filled_order.pk}/fill/").content.decode()
    page = _decide(operator, filled_order, action="cancel_order", note="client closed the site").content.decode()
    assert "JO-77 cancelled" in page and JobOrder.objects.get(pk=filled_order.pk).status == "cancelled"
    assert _history_note("order_cancelled") == "client closed the site"
    history = operator.get(f"/admin/orders/joborder/{filled_order.pk}/change/").content.decode().split('id="order-history"')[1]
    assert "client closed the site" in history and "no forklift card on file" in history and "client asked for her by name" in history


def test_a_cancelled_orders_fill_page_offers_nothing_that_writes(filled_order):
    from apps.interactions.models import Interaction

    services.order_cancel(order_id="JO-77")
    operator = console_session("op", staff=True)
    page = operator.get(f"/admin/orders/joborder/{filled_order.pk}/fill/").content.decode()
    assert 'id="order-closed"' in page and "JO-77 is cancelled" in page
    for control in ('value="accept"', 'value="reject"', 'id="find-button"', 'id="propose-button"', 'id="end-W-X0901"', 'id="outreach-form"',
                    'id="cancel-order-form"'):
        assert control not in page, control
    # A form sent from a page opened before the cancel: refused with the reason, nothing written.
    before = Interaction.objects.count()
    proposal = filled_order.proposals.get()
    refused = _decide(operator, filled_order, action="reject", proposal_id=proposal.pk, note="late").content.decode()
    assert "JO-77 is cancelled" in refused and filled_order.proposals.get().status == "accepted"
    assert Interaction.objects.count() == before
