"""Clients (one per name whatever its case and spacing) and do-not-assign lists (SPEC §3.2, §3.2a):
the API, the admin's CSV bulk add, and enforcement in the FillValidator, proposals, acceptance (also
racing a list change) and fill validation."""

from __future__ import annotations

from datetime import date

import pytest
from django.db import IntegrityError, connection, transaction
from django.test import Client as BrowserClient

from apps.core.errors import Conflict
from apps.core.services import issue_api_token
from apps.orders import services
from apps.orders.models import Client, DoNotAssign, FillProposal, JobOrder
from apps.orders.fill_validator import WORKER_DO_NOT_ASSIGN, FillValidator
from apps.workers.models import Worker
from tests.orders.lock_race import race_behind_held_transaction


def _worker(worker_id: str) -> Worker:
    return Worker.objects.create(
        worker_id=worker_id, first_name="Ana", city="Columbus", state="OH", role="forklift_operator",
        certifications=["OSHA-10"], shift_preference=["night"], status="active",
    )


def _order(order_id: str = "JO-1", client: str = "Acme Logistics", headcount: int = 2) -> JobOrder:
    return services.order_create(
        order_id=order_id, client=client, city="Columbus", state="OH", role="forklift_operator", headcount=headcount,
        shift="night", start_date=date(2026, 12, 7),
    )


# Clients -------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_client_is_one_row_whatever_its_case_and_spacing():
    first = services.client_for_name("Acme Logistics")
    assert services.client_for_name("  ACME   logistics ") == first
    assert Client.objects.count() == 1 and first.name == "Acme Logistics"
    with pytest.raises(IntegrityError), transaction.atomic():
        Client.objects.create(name="acme  LOGISTICS")  # the key is the model's invariant, not only the service's


@pytest.mark.django_db
def test_the_order_api_takes_and_returns_client_names(staff_client, coordinator_client):
    body = {
        "order_id": "JO-7", "client": "Acme Logistics", "city": "Columbus", "state": "OH", "role": "forklift_operator",
        "headcount": 1, "shift": "night", "start_date": "2026-12-07",
    }
    assert staff_client.post("/api/v1/orders/", body, format="json").json()["client"] == "Acme Logistics"
    again = staff_client.post("/api/v1/orders/", {**body, "order_id": "JO-8", "client": " acme LOGISTICS"}, format="json")
    assert again.status_code == 201 and again.json()["client"] == "Acme Logistics"
    assert JobOrder.objects.filter(client__name="Acme Logistics").count() == 2 and Client.objects.count() == 1
    blank = staff_client.post("/api/v1/orders/", {**body, "order_id": "JO-9", "client": "   "}, format="json")
    assert blank.status_code == 400 and "client" in blank.json()["error"]["fields"]
    # An invalid order does not leave a new client behind.
    bad = staff_client.post("/api/v1/orders/", {**body, "order_id": "JO-9", "client": "Brand New", "headcount": 0}, format="json")
    assert bad.status_code == 400 and not Client.objects.filter(name="Brand New").exists()


@pytest.mark.django_db(transaction=True)
def test_the_migration_merges_free_text_clients():
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    executor.migrate([("orders", "0002_order_vocabularies_site_zip")])
    old = executor.loader.project_state([("orders", "0002_order_vocabularies_site_zip")]).apps
    OldOrder = old.get_model("orders", "JobOrder")
    for order_id, client in (("JO-1", "Acme Logistics"), ("JO-2", "ACME  logistics "), ("JO-3", "Globex")):
        OldOrder.objects.create(
            order_id=order_id, client=client, city="Columbus", state="OH", role="forklift_operator", headcount=1,
            shift="night", start_date=date(2026, 12, 7),
        )
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())
    assert sorted(Client.objects.values_list("name", flat=True)) == ["Acme Logistics", "Globex"]
    assert {o.order_id: o.client.name for o in JobOrder.objects.select_related("client")} == {
        "JO-1": "Acme Logistics", "JO-2": "Acme Logistics", "JO-3": "Globex",
    }


# The list through the API and the admin ------------------------------------------------------------


@pytest.mark.django_db
def test_operators_manage_the_list_and_coordinators_read_it(staff_client, coordinator_client):
    _worker("W-1"), _worker("W-2")
    created = staff_client.post("/api/v1/do-not-assign/", {"client": "Acme Logistics", "worker_id": "W-1", "reason": "Left a forklift running"}, format="json")
    assert created.status_code == 201, created.content
    entry = created.json()
    assert (entry["client"], entry["worker_id"], entry["reason"], entry["created_by"]) == ("Acme Logistics", "W-1", "Left a forklift running", "operator")
    staff_client.post("/api/v1/do-not-assign/", {"client": "Globex", "worker_id": "W-2", "reason": "Client request"}, format="json")

    again = staff_client.post("/api/v1/do-not-assign/", {"client": "acme logistics", "worker_id": "W-1", "reason": "twice"}, format="json")
    assert again.status_code == 409
    unknown = staff_client.post("/api/v1/do-not-assign/", {"client": "Acme Logistics", "worker_id": "W-404", "reason": "x"}, format="json")
    assert unknown.status_code == 400 and "worker_id" in unknown.json()["error"]["fields"]
    no_reason = staff_client.post("/api/v1/do-not-assign/", {"client": "Acme Logistics", "worker_id": "W-2", "reason": " "}, format="json")
    assert no_reason.status_code == 400 and "reason" in no_reason.json()["error"]["fields"]
    assert coordinator_client.post("/api/v1/do-not-assign/", {"client": "Acme", "worker_id": "W-2", "reason": "x"}, format="json").status_code == 403

    listed = coordinator_client.get("/api/v1/do-not-assign/", {"client": " ACME logistics"}).json()
    assert listed["count"] == 1 and listed["results"][0]["worker_id"] == "W-1"
    assert coordinator_client.get("/api/v1/do-not-assign/", {"worker_id": "W-2"}).json()["results"][0]["client"] == "Globex"
    assert coordinator_client.get("/api/v1/do-not-assign/").json()["count"] == 2

    assert coordinator_client.delete(f"/api/v1/do-not-assign/{entry['id']}/").status_code == 403
    assert staff_client.delete(f"/api/v1/do-not-assign/{entry['id']}/").status_code == 204
    assert staff_client.delete(f"/api/v1/do-not-assign/{entry['id']}/").status_code == 404
    assert DoNotAssign.objects.count() == 1


@pytest.mark.django_db
def test_the_admin_bulk_adds_from_csv_and_reports_each_bad_row():
    for worker_id in ("W-1", "W-2", "W-3"):
        _worker(worker_id)
    user, _ = issue_api_token(username="console-op", staff=True)
    console = BrowserClient()
    console.force_login(user)
    csv_text = "client,worker_id,reason\nAcme,W-1,No-show twice\nacme ,W-2,Safety\nAcme,W-404,Typo\nACME,W-1,Again\nGlobex,W-3,\n"
    page = console.post("/admin/orders/donotassign/import/", {"csv_text": csv_text}, follow=True)
    assert page.status_code == 200
    assert sorted(DoNotAssign.objects.values_list("client__name", "worker_id")) == [("Acme", "W-1"), ("Acme", "W-2")]
    shown = [str(m) for m in page.context["messages"]]
    assert "Added 2 do-not-assign entries." in shown
    assert any(m.startswith("line 4:") and "W-404" in m for m in shown)
    assert any(m.startswith("line 5:") and "already" in m for m in shown)
    assert any(m.startswith("line 6:") and "reason" in m.lower() for m in shown)


# Enforcement -----------------------------------------------------------------------------------------


def test_the_fill_validator_names_the_ban_and_its_reason():
    worker = {"worker_id": "W-1", "city": "Columbus", "state": "OH", "role": "forklift_operator", "status": "active"}
    order = {"client": "Acme", "city": "Columbus", "state": "OH", "role": "forklift_operator", "headcount": 1, "shift": "night", "start_date": "2026-12-07"}
    verdict = FillValidator().validate(order, ["W-1"], {"W-1": worker}, banned={"W-1": "Safety violation"})
    assert not verdict.ok and verdict.errors[0]["code"] == WORKER_DO_NOT_ASSIGN
    assert "Safety violation" in verdict.errors[0]["message"] and verdict.errors[0]["worker_id"] == "W-1"
    assert FillValidator().validate(order, ["W-1"], {"W-1": worker}, banned={"W-2": "other"}).ok


@pytest.mark.django_db
def test_a_banned_worker_cannot_be_proposed_or_validated(coordinator_client):
    _worker("W-1"), _worker("W-2")
    _order()
    _order("JO-2", client="Globex")
    services.do_not_assign_add(client="ACME LOGISTICS", worker_id="W-2", reason="Safety violation")
    response = coordinator_client.post("/api/v1/orders/JO-1/proposals/", {"worker_ids": ["W-1", "W-2"]}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["fields"]["worker_ids"] == [
        {"worker_id": "W-2", "code": WORKER_DO_NOT_ASSIGN, "message": "W-2 is on Acme Logistics's do-not-assign list: Safety violation"}
    ]
    assert not FillProposal.objects.exists()
    verdict = coordinator_client.post("/api/v1/validate/fill", {"order_id": "JO-1", "worker_ids": ["W-1", "W-2"]}, format="json").json()
    assert [e["code"] for e in verdict["errors"]] == [WORKER_DO_NOT_ASSIGN]
    inline = {"client": "acme logistics", "city": "Columbus", "state": "OH", "role": "forklift_operator", "headcount": 1, "shift": "night", "start_date": "2026-12-07"}
    assert not coordinator_client.post("/api/v1/validate/fill", {"order": inline, "worker_ids": ["W-2"]}, format="json").json()["ok"]
    # Another client's order is not affected.
    assert coordinator_client.post("/api/v1/orders/JO-2/proposals/", {"worker_ids": ["W-1", "W-2"]}, format="json").status_code == 201


@pytest.mark.django_db
def test_a_ban_added_while_a_proposal_is_open_makes_its_acceptance_a_409(coordinator_client):
    _worker("W-1"), _worker("W-2")
    _order()
    proposal = services.proposal_create(order_id="JO-1", worker_ids=["W-1", "W-2"])
    services.do_not_assign_add(client="Acme Logistics", worker_id="W-1", reason="Client request")
    response = coordinator_client.post(f"/api/v1/orders/JO-1/proposals/{proposal.pk}/accept/", format="json")
    assert response.status_code == 409 and WORKER_DO_NOT_ASSIGN in response.json()["error"]["message"]
    assert FillProposal.objects.get(pk=proposal.pk).status == "proposed"
    assert JobOrder.objects.get(order_id="JO-1").status == "open"



@pytest.mark.django_db(transaction=True)
def test_a_ban_racing_an_accept_is_never_missed():
    """The ban's transaction holds the worker's row lock; the accept waits on it, then re-validates and
    sees the committed ban (409). Without the lock the accept would read the list before the ban
    commits and book a banned worker."""
    _worker("W-1"), _worker("W-2")
    _order()
    proposal = services.proposal_create(order_id="JO-1", worker_ids=["W-1", "W-2"])
    ban, accept = race_behind_held_transaction(
        lambda: services.do_not_assign_add(client="Acme Logistics", worker_id="W-2", reason="Theft"),
        lambda: services.proposal_accept(order_id="JO-1", proposal_id=proposal.pk, actor="b"),
    )

    assert isinstance(ban, DoNotAssign) and ban.worker_id == "W-2", ban
    assert isinstance(accept, Conflict) and WORKER_DO_NOT_ASSIGN in str(accept), accept
    assert FillProposal.objects.get(pk=proposal.pk).status == "proposed"
    assert JobOrder.objects.get(order_id="JO-1").status == "open"


@pytest.mark.django_db
def test_a_ban_survives_a_workers_reset_and_holds_when_the_worker_returns():
    _worker("W-1")
    _order(headcount=1)
    services.do_not_assign_add(client="Acme Logistics", worker_id="W-1", reason="Safety")
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute(f'TRUNCATE TABLE "{Worker._meta.db_table}"')  # what a reset or a drop-and-reingest does
    assert DoNotAssign.objects.filter(worker_id="W-1").exists()
    _worker("W-1")
    verdict = services.check_fill(order={**_order_dict(), "headcount": 1}, worker_ids=["W-1"])
    assert [e["code"] for e in verdict["errors"]] == [WORKER_DO_NOT_ASSIGN]


def _order_dict() -> dict:
    from apps.orders.selectors import order_as_dict

    return order_as_dict(JobOrder.objects.get(order_id="JO-1"))
