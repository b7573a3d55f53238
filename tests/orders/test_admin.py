"""The console writes orders through the same service and validation as the API, and decides proposals
with the same services (admin actions)."""

from __future__ import annotations

from datetime import date

import pytest

from apps.orders.services import client_for_name
from apps.orders.models import FillProposal, JobOrder
from apps.playbooks.models import Playbook
from apps.workers.models import Worker
from tests.console_sessions import console_session

pytestmark = pytest.mark.django_db

FORM = {
    "order_id": "JO-9", "client": "Acme", "city": "Columbus", "state": "OH", "site_zip": "43215", "role": "forklift_operator",
    "headcount": "1", "shift": "night", "start_date": "2026-12-07", "end_date": "", "required_certifications": "",
    "proposals-TOTAL_FORMS": "0", "proposals-INITIAL_FORMS": "0", "proposals-MIN_NUM_FORMS": "0", "proposals-MAX_NUM_FORMS": "1000",
}


@pytest.mark.parametrize(
    "change, field",
    [({"state": "ZZ"}, "state"), ({"role": "Forklift operators"}, "role"), ({"order_id": "JO/9"}, "order_id"), ({"site_zip": "4321"}, "site_zip")],
)
def test_the_admin_form_rejects_what_the_api_rejects(operator_console, change, field):
    page = operator_console.post("/admin/orders/joborder/add/", {**FORM, **change})
    assert page.status_code == 200 and field in page.context["adminform"].form.errors
    assert not JobOrder.objects.exists()


def test_the_admin_saves_through_the_service(operator_console):
    page = operator_console.post("/admin/orders/joborder/add/", FORM)
    assert page.status_code == 302, page.context["adminform"].form.errors if page.context else page
    order = JobOrder.objects.get()
    assert (order.state, order.site_zip, order.created_by, order.status) == ("OH", "43215", "console-op", "open")


def test_accept_and_reject_actions_call_the_services(operator_console):
    Worker.objects.create(
        worker_id="W-1", first_name="Ana", city="Columbus", state="OH", role="forklift_operator", shift_preference=["night"], status="active",
    )
    order = JobOrder.objects.create(
        order_id="JO-9", client=client_for_name("Acme"), city="Columbus", state="OH", role="forklift_operator", headcount=1, shift="night", start_date=date(2026, 12, 7),
    )
    proposal = FillProposal.objects.create(order=order, worker_ids=["W-1"], ok=True, verdict={"ok": True, "errors": []})
    accept = {"action": "accept_proposals", "_selected_action": [proposal.pk]}
    operator_console.post("/admin/orders/fillproposal/", accept)
    assert FillProposal.objects.get().status == "accepted" and JobOrder.objects.get().status == "filled"
    assert Playbook.objects.get().outcome == "filled"
    again = operator_console.post("/admin/orders/fillproposal/", accept, follow=True)
    assert "already accepted" in again.content.decode()  # a 409 becomes a message, not a crash
    operator_console.post("/admin/orders/fillproposal/", {"action": "reject_proposals", "_selected_action": [proposal.pk]})
    assert FillProposal.objects.get().status == "rejected" and JobOrder.objects.get().status == "open"


def test_list_fields_have_list_widgets_and_store_clean_lists(operator_console):
    page = operator_console.get("/admin/orders/joborder/add/")
    html = page.content.decode()
    assert '<select name="state"' in html and '<select name="role"' in html
    assert 'list="vocabulary-required_certifications"' in html and '<option value="OSHA-10">' in html
    page = operator_console.post("/admin/orders/joborder/add/", {**FORM, "required_certifications": " OSHA-10, Forklift ,,OSHA-10"})
    assert page.status_code == 302
    assert JobOrder.objects.get().required_certifications == ["OSHA-10", "Forklift"]

    worker = Worker.objects.create(worker_id="W-1", first_name="Ana", city="Columbus", state="OH", role="forklift_operator")
    form = operator_console.get(f"/admin/workers/worker/{worker.pk}/change/").content.decode()
    assert 'type="checkbox" name="shift_preference" value="night"' in form and 'list="vocabulary-skills"' in form
    changed = {
        "worker_id": "W-1", "first_name": "Ana", "last_name": "", "email": "", "phone": "", "city": "Columbus", "state": "OH", "zip": "",
        "role": "forklift_operator", "skills": "Forklift, RF Scanner", "certifications": "OSHA-10", "shift_preference": ["night", "weekend"],
        "available_from": "", "years_experience": "", "hourly_rate": "", "reliability": "", "status": "active", "bio": "",
    }
    response = operator_console.post(f"/admin/workers/worker/{worker.pk}/change/", changed)
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else response
    worker.refresh_from_db()
    assert (worker.skills, worker.certifications, worker.shift_preference) == (["forklift", "rf scanner"], ["OSHA-10"], ["night", "weekend"])


def test_a_coordinator_reads_an_order_and_fills_it_but_does_not_change_it():
    from django.contrib.auth.models import Group  # noqa: F401 - groups exist after migrate

    client = console_session("coord", coordinator_console=True)
    order = JobOrder.objects.create(order_id="JO-9", client=client_for_name("Acme"), city="Columbus", state="OH", role="forklift_operator", headcount=1,
                                    shift="night", start_date=date(2026, 12, 7))
    assert client.get(f"/admin/orders/joborder/{order.pk}/fill/").status_code == 200
    assert client.post(f"/admin/orders/joborder/{order.pk}/change/", {**FORM, "client": "Other"}).status_code == 403
    assert JobOrder.objects.get().client.name == "Acme"
    assert client.get("/admin/orders/joborder/999999/fill/").status_code == 404


def test_an_order_and_a_worker_show_the_roles_label_not_its_slug(operator_console):
    from apps.orders.selectors import order_query

    order = JobOrder.objects.create(order_id="JO-1003", client=client_for_name("Acme"), city="Columbus", state="OH", role="forklift_operator",
                                    headcount=2, shift="night", start_date=date(2026, 12, 7))
    assert str(order) == "JO-1003 2× Forklift operator, Columbus, OH"
    # The playbook query keeps the running-text wording it always embedded.
    assert order_query(order) == "2 forklift operator in Columbus, OH (night shift)"
    page = operator_console.get(f"/admin/orders/joborder/{order.pk}/change/").content.decode()
    assert "JO-1003 2× Forklift operator, Columbus, OH" in page and "forklift_operator</" not in page
    assert '<option value="forklift_operator" selected>Forklift operator</option>' in page

    Worker.objects.create(worker_id="W-1", first_name="Ana", city="Columbus", state="OH", role="cdl_driver")
    Worker.objects.create(worker_id="W-2", first_name="Ben", city="Columbus", state="OH", role="drone_pilot")  # ingest keeps unknown roles
    # Newest ids first: "W-2" and "W-1" sort after a generated corpus's "W-000123" that another test
    # may have left, so they are on the first page either way.
    listing = operator_console.get("/admin/workers/worker/?o=-1").content.decode()
    assert '<td class="field-role_display">CDL driver</td>' in listing and '<td class="field-role_display">Drone pilot</td>' in listing
    assert "role=cna" in listing and "Certified nursing assistant (CNA)</a>" in listing  # the filter, by label
    assert "W-1" in operator_console.get("/admin/workers/worker/?role=cdl_driver&o=-1").content.decode()
    form = operator_console.get(f"/admin/workers/worker/{Worker.objects.get(worker_id='W-2').pk}/change/").content.decode()
    assert '<option value="drone_pilot" selected>Drone pilot (not in the vocabulary)</option>' in form  # saving keeps it

    reader = console_session("coord", coordinator_console=True)
    page = reader.get(f"/admin/workers/worker/{Worker.objects.get(worker_id='W-1').pk}/change/").content.decode()
    assert 'class="readonly">CDL driver</div>' in page and "cdl_driver" not in page
