"""What a coordinator sees in the console (SPEC §5, §6), in headless Chromium: the worker list's
semantic search and filters, a worker's page with their fills, and no operator power (index reset,
ingest) — absent or 403."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.admin.conftest import screenshot
from tests.admin.records import add_worker

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _seed_corpus():
    from apps.indexes.services import ensure_all_vector_indexes

    ensure_all_vector_indexes()
    night = ["night"]
    for n, name in enumerate(["Ana", "Ben", "Cleo", "Dev"], start=1):
        add_worker(f"W-00010{n}", first_name=name, last_name="Columbus", shift_preference=night if n < 4 else ["day"])
    add_worker("W-000201", first_name="Fay", last_name="Austin", city="Austin", state="TX", shift_preference=night)
    add_worker("W-000202", first_name="Gus", last_name="Dayton", city="Dayton", shift_preference=night)
    add_worker("W-000301", first_name="Hal", last_name="Welder", role="welder", skills=["mig welding", "blueprint reading"],
               certifications=["AWS D1.1"], shift_preference=["day"])
    add_worker("W-000302", first_name="Ivy", last_name="Nurse", role="cna", city="Cleveland", skills=["charting", "vital signs"],
               certifications=["CNA License", "CPR"], shift_preference=["swing"])
    add_worker("W-000303", first_name="Jo", last_name="Driver", role="cdl_driver", city="Cincinnati", skills=["route planning"],
               certifications=["CDL-A"], shift_preference=["day", "weekend"])


def test_semantic_search_for_forklift_columbus_night_ranks_columbus_forklift_operators_first(coordinator_logged_in):
    _seed_corpus()
    page, url = coordinator_logged_in
    page.goto(f"{url}/admin/workers/worker/")
    assert page.locator("#semantic-search").count() == 1 and page.locator("#changelist-search").count() == 1  # both boxes
    page.fill("#semantic-q", "forklift Columbus night")
    with page.expect_navigation():
        page.click("#semantic-search input[type=submit]")
    rows = page.locator("#semantic-results tr.semantic-result")
    top = rows.evaluate_all("rows => rows.slice(0, 3).map(r => [r.dataset.worker, r.dataset.role, r.dataset.city])")
    assert top and all(role == "forklift_operator" and city == "Columbus" for _, role, city in top), top
    # A person reads the role's label; the slug stays in the data attribute (and in the API).
    shown = rows.evaluate_all("rows => rows.map(r => r.querySelector('td:nth-child(3)').textContent)")
    assert shown[:3] == ["Forklift operator"] * 3 and not any("_" in role for role in shown), shown
    assert "Certified nursing assistant (CNA)" in shown or "CDL driver" in shown or "Welder" in shown, shown
    screenshot(page, "workers-semantic-search")
    with page.expect_navigation():
        rows.first.locator("a").click()
    assert page.title().startswith(top[0][0])  # the worker's page, titled by business id


def test_worker_list_filters_use_skills_certifications_shift_and_availability(coordinator_logged_in):
    from django.utils import timezone

    from apps.workers.models import Worker

    _seed_corpus()
    Worker.objects.filter(worker_id="W-000104").update(available_from=timezone.localdate() + timedelta(days=60))
    page, url = coordinator_logged_in

    def listed(query: str) -> list[str]:
        page.goto(f"{url}/admin/workers/worker/?{query}")
        return sorted(page.locator("#result_list tbody th a, #result_list tbody td.field-worker_id a").all_inner_texts())

    assert listed("shift=night") == ["W-000101", "W-000102", "W-000103", "W-000201", "W-000202"]
    assert listed("certification=CDL-A") == ["W-000303"]
    assert listed("skill=Mig+Welding") == ["W-000301"]  # typed in any case
    assert "W-000104" not in listed("available=now") and listed("available=later") == ["W-000104"]
    assert listed("shift=night&available=now&status__exact=active") == ["W-000101", "W-000102", "W-000103", "W-000201", "W-000202"]
    page.goto(f"{url}/admin/workers/worker/?shift=night")
    page.fill("input[name=skill]", "rf scanner")
    with page.expect_navigation():
        page.press("input[name=skill]", "Enter")
    assert "shift=night" in page.url and "skill=rf+scanner" in page.url  # the typed filter keeps the others
    screenshot(page, "workers-list-filters")


def test_a_workers_page_shows_their_assignments_proposals_playbooks_and_outreach(coordinator_logged_in):
    from django.utils import timezone

    from apps.interactions.services import drain_interaction_queue
    from apps.orders import services
    from apps.validation.services import validate_outreach
    from apps.workers.models import Worker

    _seed_corpus()
    start = timezone.localdate() + timedelta(days=2)
    services.order_create(order_id="JO-1003", client="Acme Logistics", city="Columbus", state="OH", role="forklift_operator", headcount=1,
                          shift="night", start_date=start)
    proposal = services.proposal_create(order_id="JO-1003", worker_ids=["W-000101"], actor="console-coordinator")
    services.proposal_accept(order_id="JO-1003", proposal_id=proposal.pk, actor="console-coordinator")
    validate_outreach(kind="sms", worker_id="W-000101", subject=None, body="Night shift Monday, Columbus. Reply STOP to opt out",
                      actor="console-coordinator")
    drain_interaction_queue()  # outreach is read from the log, which the worker drains every few seconds

    page, url = coordinator_logged_in
    page.goto(f"{url}/admin/workers/worker/{Worker.objects.get(worker_id='W-000101').pk}/change/")
    assert page.locator(".field-assignments_table a:has-text('JO-1003')").count() == 1
    assert page.locator(".field-proposals_table .lh-badge:has-text('accepted')").count() == 1
    assert page.locator(".field-playbooks_table a").count() >= 1
    assert "validate SMS" in page.locator(".field-outreach_table").inner_text()
    assert page.locator("input[type=submit][name=_save]").count() == 0  # read-only for a coordinator
    screenshot(page, "worker-page-linked")


def test_a_coordinator_gets_no_index_reset_and_no_ingest(coordinator_logged_in):
    page, url = coordinator_logged_in
    from apps.indexes.services import ensure_all_vector_indexes

    ensure_all_vector_indexes()
    page.goto(f"{url}/admin/indexes/vectorindex/")
    options = page.locator("select[name=action] option").all_inner_texts()
    assert not any("Reset" in o or "Rebuild" in o or "Re-embed" in o for o in options), options
    screenshot(page, "coordinator-indexes-no-operations")
    # The operators' pages answer 403 (fetched with the browser's session; a navigation would log the 403).
    for path in ("/admin/workers/ingestjob/launch/", "/admin/evidence/materializerun/materialize/", "/admin/replay/replaybatch/replay-day/",
                 "/admin/orders/joborder/add/"):
        assert page.request.get(url + path, max_redirects=0).status == 403, path
    for listing in ("/admin/workers/ingestjob/", "/admin/evidence/materializerun/", "/admin/replay/replaybatch/", "/admin/"):
        page.goto(url + listing)
        assert page.locator(".object-tools a.addlink").count() == 0, listing  # no "Ingest a file", "Materialize now", …
        assert page.locator("a[href$='/ingestjob/launch/']").count() == 0
