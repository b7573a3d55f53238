"""A coordinator fills an order from the console alone (SPEC §4.8a, §6), in headless Chromium at
1440 px: find candidates with their explanation, an inline FillValidator verdict, propose, accept (the
order becomes filled and the playbook is recorded), and validate an outreach draft with the violating
span marked."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from tests.admin.conftest import screenshot
from tests.admin.records import add_worker

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _seed_order():
    """JO-1003 (2 night-shift forklift operators in Columbus from tomorrow) and its corpus: five who fit,
    one booked on an overlapping order, and workers the order's filters must leave out."""
    from django.utils import timezone

    from apps.indexes.services import ensure_all_vector_indexes
    from apps.orders import services

    ensure_all_vector_indexes()
    start = timezone.localdate() + timedelta(days=1)
    people = [("Ana", "Reyes", 0.95, ["forklift", "rf scanner"]), ("Ben", "Okafor", 0.9, ["forklift", "pallet jack"]),
              ("Cleo", "Marsh", 0.85, ["forklift"]), ("Dev", "Patel", 0.8, ["forklift", "inventory"]), ("Eli", "Novak", 0.7, ["reach truck"])]
    for n, (first, last, reliability, skills) in enumerate(people, start=1):
        add_worker(f"W-00010{n}", first_name=first, last_name=last, reliability=reliability, skills=skills, phone=f"+1614555010{n}",
                   email=f"{first.lower()}@example.com", sms_opt_out=(n == 5), years_experience=2 * n)
    add_worker("W-000200", first_name="Booked")
    add_worker("W-000300", first_name="Dayton", city="Dayton")
    add_worker("W-000301", first_name="Welder", role="welder", skills=["welding"])
    order = services.order_create(order_id="JO-1003", client="Acme Logistics", city="Columbus", state="OH", role="forklift_operator",
                                  headcount=2, shift="night", start_date=start, required_certifications=["OSHA-10"], actor="console-operator")
    other = services.order_create(order_id="JO-0999", client="Bolt Freight", city="Columbus", state="OH", role="forklift_operator",
                                  headcount=1, shift="night", start_date=start, actor="console-operator")
    booked = services.proposal_create(order_id=other.order_id, worker_ids=["W-000200"], actor="console-operator")
    services.proposal_accept(order_id=other.order_id, proposal_id=booked.pk, actor="console-operator")
    return order


def test_a_coordinator_fills_an_order_from_candidates_to_filled_with_the_playbook_recorded(coordinator_logged_in):
    from apps.orders.models import FillProposal, JobOrder
    from apps.playbooks.models import Playbook

    order = _seed_order()
    page, url = coordinator_logged_in

    # Home: the coordinator's part of the dashboard names the order, half-empty, starting tomorrow.
    page.goto(f"{url}/admin/")
    assert page.locator("#starting-soon a:has-text('JO-1003')").count() == 1
    assert "0 / 2" in page.locator("#starting-soon").inner_text()

    page.goto(f"{url}/admin/orders/joborder/{order.pk}/change/")
    assert page.locator("text=Save").count() == 0  # a coordinator reads orders; operators change them
    with page.expect_navigation():
        page.click("#fill-order-link")
    with page.expect_navigation():
        page.click("#find-button")
    found = page.locator("#candidate-table tr.candidate").evaluate_all("rows => rows.map(r => r.dataset.worker)")
    assert sorted(found) == [f"W-00010{n}" for n in range(1, 6)]  # not the booked one, nor Dayton, nor the welder
    first = page.locator("#candidate-table tr.candidate").first
    assert "OSHA-10" in first.inner_text() and "night shift" in first.inner_text()  # what it matched
    assert page.locator("tr[data-worker='W-000105'] .lh-badge:has-text('SMS opt-out')").count() == 1
    screenshot(page, "order-fill-candidates")

    # One worker for two seats: the FillValidator's verdict inline, nothing written.
    page.check("#pick-W-000101")
    with page.expect_navigation():
        page.click("#check-button")
    assert "HEADCOUNT_MISMATCH" in page.locator("#verdict").inner_text()
    assert page.locator("#pick-W-000101").is_checked()  # the pick survives the check
    screenshot(page, "order-fill-verdict-inline")
    assert not FillProposal.objects.filter(order=order).exists()

    page.check("#pick-W-000102")
    with page.expect_navigation():
        page.click("#check-button")
    assert "FillValidator: OK" in page.locator("#verdict").inner_text()
    with page.expect_navigation():
        page.click("#propose-button")
    proposal = FillProposal.objects.get(order=order)
    assert sorted(proposal.worker_ids) == ["W-000101", "W-000102"] and proposal.created_by == "console-coordinator"
    assert "Proposed" in page.locator(".messagelist").inner_text()
    page.goto(f"{url}/admin/")
    assert page.locator(f"#awaiting-decision a:has-text('#{proposal.pk}')").count() == 1
    assert page.locator("#last-materialize a:has-text('Materialize now')").count() == 0  # an operator's action
    screenshot(page, "coordinator-dashboard")
    page.goto(f"{url}/admin/orders/joborder/{order.pk}/fill/")

    # Proposed workers leave the candidates.
    with page.expect_navigation():
        page.click("#find-button")
    found = page.locator("#candidate-table tr.candidate").evaluate_all("rows => rows.map(r => r.dataset.worker)")
    assert "W-000101" not in found and "W-000102" not in found and found

    with page.expect_navigation():
        page.click(f"#proposal-{proposal.pk} button:has-text('Accept')")
    assert JobOrder.objects.get(pk=order.pk).status == "filled"
    playbook = Playbook.objects.get(order=order)
    assert playbook.outcome == "filled" and sorted(playbook.worker_ids) == ["W-000101", "W-000102"]
    assert "accepted" in page.locator(f"#proposal-{proposal.pk} .proposal-status").inner_text()
    assert page.locator(f"#order-playbooks a:has-text('playbook #{playbook.pk}')").count() == 1
    assert "filled" in page.locator("#order-status").inner_text()
    screenshot(page, "order-filled-playbook-recorded")


def test_an_outreach_draft_with_an_ssn_shows_the_violation_marked(coordinator_logged_in):
    from apps.interactions.models import Interaction
    from apps.interactions.services import drain_interaction_queue
    from apps.orders import services

    order = _seed_order()
    services.proposal_create(order_id=order.order_id, worker_ids=["W-000101", "W-000102"], actor="console-coordinator")
    page, url = coordinator_logged_in
    page.goto(f"{url}/admin/orders/joborder/{order.pk}/fill/")
    page.select_option("#id_worker_id", "W-000101")
    page.check("input[name=kind][value=sms]")
    page.fill("#id_body", "Hi Ana, night forklift shift in Columbus tomorrow. Confirm with your SSN 123-45-6789. Reply STOP to opt out")
    with page.expect_navigation():
        page.click("#validate-button")
    assert "PII_SSN" in page.locator("#outreach-verdict").inner_text()
    marked = page.locator("#marked-draft mark")
    assert marked.count() == 1 and marked.inner_text() == "123-45-6789" and marked.get_attribute("title") == "PII_SSN"
    assert page.locator("#id_body").input_value().endswith("Reply STOP to opt out")  # the draft is kept for fixing
    screenshot(page, "outreach-ssn-highlighted")
    drain_interaction_queue()  # the console's validation queued its row, as the API's does
    logged = Interaction.objects.filter(kind="validate_sms").get()
    assert logged.actor == "console-coordinator" and logged.ok is False  # validated like the API does, and logged


def test_a_no_show_reopens_the_order_and_the_coordinator_proposes_a_backfill(coordinator_logged_in):
    from apps.orders import services
    from apps.orders.models import AssignmentEnd, FillProposal, JobOrder
    from apps.orders.selectors import assignment_end_notes
    from apps.playbooks.models import Playbook

    order = _seed_order()
    first = services.proposal_create(order_id=order.order_id, worker_ids=["W-000101", "W-000102"], actor="console-coordinator")
    services.proposal_accept(order_id=order.order_id, proposal_id=first.pk, actor="console-coordinator")
    page, url = coordinator_logged_in
    page.goto(f"{url}/admin/orders/joborder/{order.pk}/fill/")
    assert "filled" in page.locator("#order-status").inner_text() and page.locator("#candidates").count() == 0
    assert page.locator("#assignments tr.assignment").evaluate_all("rows => rows.map(r => r.dataset.worker)") == ["W-000101", "W-000102"]

    # Ana does not show: the coordinator ends her assignment with a note.
    page.select_option("#end-reason-W-000101", "no_show")
    page.fill("#end-note-W-000101", "no answer at 22:00, site lead confirmed")
    with page.expect_navigation():
        page.click("#end-W-000101")
    ended = AssignmentEnd.objects.get(order=order)
    assert (ended.worker_id, ended.reason, ended.ended_by) == ("W-000101", "no_show", "console-coordinator")
    assert assignment_end_notes(order.order_id) == {"W-000101": "no answer at 22:00, site lead confirmed"}  # in the order's history
    assert JobOrder.objects.get(pk=order.pk).status == "open"  # the seat is free again
    assert Playbook.objects.filter(order=order, outcome="no_show", worker_ids=["W-000101"]).count() == 1  # the loop learns
    assert "Backfill candidates are below" in page.locator(".messagelist").inner_text()
    assert "1 of 2" in page.locator("#order-filled").inner_text()
    assert "ended: no show" in page.locator("#assignment-W-000101 .assignment-status").inner_text()
    assert page.locator("#end-W-000102").count() == 1 and page.locator("#end-W-000101").count() == 0

    # Backfill candidates, explained like the candidates: never the one who left, nor the seated or booked.
    assert "Backfill candidates" in page.locator("#candidates h2").inner_text()
    why = page.locator("#backfill-why").inner_text()
    assert "W-000101" in why and "no show" in why and "no answer at 22:00" in why
    found = page.locator("#candidate-table tr.candidate").evaluate_all("rows => rows.map(r => r.dataset.worker)")
    assert sorted(found) == ["W-000103", "W-000104", "W-000105"], found
    top = page.locator("#candidate-table tr.candidate").first
    assert "OSHA-10" in top.inner_text() and "night shift" in top.inner_text() and top.locator("meter").count() == 1
    assert "0 of 1 picked" in page.locator("#picked-count").inner_text()
    screenshot(page, "order-assignment-ended-backfill")

    page.check("#pick-W-000103")
    with page.expect_navigation():
        page.click("#check-button")
    assert "FillValidator: OK" in page.locator("#verdict").inner_text()
    assert "Backfill candidates" in page.locator("#candidates h2").inner_text()  # the check stays on the backfill list
    with page.expect_navigation():
        page.click("#propose-button")
    backfill = FillProposal.objects.get(order=order, status="proposed")
    assert backfill.worker_ids == ["W-000103"] and backfill.created_by == "console-coordinator"
    assert page.locator("#candidates").count() == 0  # the open seat is covered by the pending proposal
    with page.expect_navigation():
        page.click(f"#proposal-{backfill.pk} button:has-text('Accept')")
    assert JobOrder.objects.get(pk=order.pk).status == "filled"
    assert "2 of 2" in page.locator("#order-filled").inner_text()
    assert page.locator("#assignments tr.assignment").evaluate_all("rows => rows.map(r => r.dataset.worker)") == ["W-000101", "W-000102", "W-000103"]


def test_a_workers_page_lists_the_clients_that_banned_them(coordinator_logged_in):
    from apps.orders import services
    from apps.orders.models import DoNotAssign
    from apps.workers.models import Worker

    add_worker("W-000101", first_name="Ana", last_name="Reyes")
    add_worker("W-000102", first_name="Ben", last_name="Okafor")
    services.do_not_assign_add(client="Acme Logistics", worker_id="W-000101", reason="Left a forklift running unattended", actor="console-operator")
    services.do_not_assign_add(client="Bolt Freight", worker_id="W-000101", reason="Client request after a safety review", actor="console-operator")
    services.do_not_assign_add(client="Acme Logistics", worker_id="W-000102", reason="Not this one", actor="console-operator")
    page, url = coordinator_logged_in
    page.goto(f"{url}/admin/workers/worker/{Worker.objects.get(worker_id='W-000101').pk}/change/")
    panel = page.locator(".field-do_not_assign_table")
    text = panel.inner_text()
    assert "Acme Logistics" in text and "Left a forklift running unattended" in text and "Bolt Freight" in text and "console-operator" in text
    assert "Not this one" not in text  # another worker's entry
    entry = DoNotAssign.objects.get(client__name="Acme Logistics", worker_id="W-000101")
    assert panel.locator(f"a[href='/admin/orders/donotassign/{entry.pk}/change/']").count() == 1
    # The panel comes before the assignments: the first thing to know before proposing them.
    assert page.locator("fieldset:has(.field-do_not_assign_table) h2").inner_text().lower() == "do not assign"
    screenshot(page, "worker-page-do-not-assign")
    with page.expect_navigation():
        panel.locator("a:has-text('do-not-assign list')").click()
    listed = page.locator("#result_list tbody tr").all_inner_texts()
    assert len(listed) == 2 and all("W-000101" in row for row in listed)
