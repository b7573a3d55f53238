"""Every decision on an order is an audited interaction (SPEC §4.8a step 6, §3.5), on the real database:
each decision writes exactly one row — who, what, which workers, why, the status it changed — in its
own transaction, so a refused (400, 404, 409) or rolled-back decision writes none; the order's history
reads them back newest first for coordinators, and the interaction log filters them for operators."""

from __future__ import annotations

from datetime import date

import pytest
from django.db import transaction
from django.test import Client as BrowserClient

from apps.core.services import issue_api_token
from apps.interactions.choices import DECISION_KINDS
from apps.interactions.models import Interaction
from apps.orders import services
from apps.orders.models import DoNotAssign, FillProposal, JobOrder
from apps.workers.models import Worker

pytestmark = pytest.mark.django_db

SECRET = "sk-live-4eC39HqLyjWDarjtT1zdp7dc"


def _worker(worker_id: str) -> Worker:
    return Worker.objects.create(
        worker_id=worker_id, first_name="Ana", city="Columbus", state="OH", role="forklift_operator",
        certifications=["OSHA-10"], shift_preference=["night"], status="active",
    )


def _order(order_id: str = "JO-1", headcount: int = 2, **overrides) -> JobOrder:
    fields = dict(client="Acme Logistics", city="Columbus", state="OH", role="forklift_operator", shift="night", start_date=date(2026, 12, 7))
    return services.order_create(order_id=order_id, headcount=headcount, **{**fields, **overrides})


@pytest.fixture
def workers(db) -> None:
    for i in range(1, 6):
        _worker(f"W-{i}")


def _decisions(**filters) -> list[Interaction]:
    return list(Interaction.objects.filter(kind__in=DECISION_KINDS, **filters).order_by("seq"))


def _only_new(before: int) -> Interaction:
    rows = _decisions()[before:]
    assert len(rows) == 1, [(r.kind, r.request) for r in rows]
    return rows[0]


def _propose(client, order_id: str, worker_ids: list[str], **body):
    return client.post(f"/api/v1/orders/{order_id}/proposals/", {"worker_ids": worker_ids, **body}, format="json")


# Each decision: one row with the right fields -----------------------------------------------------------


def test_each_decision_writes_one_row_with_who_what_why_and_the_status_change(coordinator_client, staff_client, workers):
    _order()
    proposal = _propose(coordinator_client, "JO-1", ["W-1", "W-2"], note="both worked this site").json()
    created = _only_new(0)
    assert (created.kind, created.actor, created.order_id, created.worker_ids, created.ok) == (
        "proposal_created", "coordinator", "JO-1", ["W-1", "W-2"], True
    )
    assert created.request == {
        "order_id": "JO-1", "proposal_id": proposal["id"], "client": "Acme Logistics", "worker_ids": ["W-1", "W-2"],
        "reason": "", "note": "both worked this site",
    }
    assert created.response == {"previous_status": None, "new_status": "proposed", "order_previous_status": "open", "order_new_status": "open"}

    assert coordinator_client.post(f"/api/v1/orders/JO-1/proposals/{proposal['id']}/accept/", {"note": "client said yes"}, format="json").status_code == 200
    accepted = _only_new(1)
    assert (accepted.kind, accepted.actor, accepted.request["proposal_id"], accepted.request["note"]) == (
        "proposal_accepted", "coordinator", proposal["id"], "client said yes"
    )
    assert accepted.response == {
        "previous_status": "proposed", "new_status": "accepted", "order_previous_status": "open", "order_new_status": "filled",
    }

    ended = coordinator_client.post("/api/v1/orders/JO-1/assignments/W-2/end/", {"reason": "no_show", "note": "no answer"}, format="json")
    assert ended.status_code == 200, ended.content
    no_show = _only_new(2)
    assert (no_show.kind, no_show.worker_ids, no_show.request["reason"], no_show.request["note"], no_show.request["proposal_id"]) == (
        "assignment_ended", ["W-2"], "no_show", "no answer", proposal["id"]
    )
    assert no_show.response == {"previous_status": "accepted", "new_status": "ended", "order_previous_status": "filled", "order_new_status": "open"}

    rejected = coordinator_client.post(f"/api/v1/orders/JO-1/proposals/{proposal['id']}/reject/", {"note": "client cancelled the night"}, format="json")
    assert rejected.status_code == 200
    row = _only_new(3)
    assert (row.kind, row.worker_ids, row.request["note"]) == ("proposal_rejected", ["W-1", "W-2"], "client cancelled the night")
    assert (row.response["previous_status"], row.response["new_status"]) == ("accepted", "rejected")

    pending = _propose(coordinator_client, "JO-1", ["W-3", "W-4"]).json()
    assert staff_client.post("/api/v1/orders/JO-1/cancel/", {"note": "site closed"}, format="json").status_code == 200
    cancelled = _only_new(5)
    assert (cancelled.kind, cancelled.actor, cancelled.request["note"], sorted(cancelled.worker_ids)) == (
        "order_cancelled", "operator", "site closed", ["W-3", "W-4"]
    )
    assert cancelled.response == {
        "previous_status": "open", "new_status": "cancelled", "order_previous_status": "open", "order_new_status": "cancelled",
        "rejected_proposal_ids": [pending["id"]],
    }


def test_do_not_assign_changes_are_audited_with_client_worker_and_reason(staff_client, workers):
    added = staff_client.post("/api/v1/do-not-assign/", {"client": "acme  LOGISTICS", "worker_id": "W-1", "reason": "no-call no-show"}, format="json")
    assert added.status_code == 201
    row = _only_new(0)
    assert (row.kind, row.actor, row.order_id, row.worker_ids) == ("do_not_assign_added", "operator", "", ["W-1"])
    assert (row.request["client"], row.request["reason"], row.response["new_status"], row.response["entry_id"]) == (
        "acme LOGISTICS", "no-call no-show", "listed", added.json()["id"]
    )
    assert staff_client.delete(f"/api/v1/do-not-assign/{added.json()['id']}/").status_code == 204
    removed = _only_new(1)
    assert (removed.kind, removed.worker_ids, removed.request["reason"], removed.response["previous_status"], removed.response["new_status"]) == (
        "do_not_assign_removed", ["W-1"], "no-call no-show", "listed", None
    )


def test_the_console_decisions_go_through_the_same_audited_services(workers):
    """The admin's actions (cancel orders, accept/reject proposals, delete list entries) write the
    same rows as the API, with the console user as the actor."""
    issue_api_token(username="ops", staff=True, password="pw-ops-123")
    console = BrowserClient()
    assert console.login(username="ops", password="pw-ops-123")
    _order("JO-1")
    _order("JO-2")
    first = services.proposal_create(order_id="JO-1", worker_ids=["W-1", "W-2"], actor="someone")
    second = services.proposal_create(order_id="JO-2", worker_ids=["W-3", "W-4"], actor="someone")
    before = len(_decisions())

    console.post("/admin/orders/fillproposal/", {"action": "accept_proposals", "_selected_action": [first.pk]})
    console.post("/admin/orders/fillproposal/", {"action": "reject_proposals", "_selected_action": [second.pk]})
    order = JobOrder.objects.get(order_id="JO-1")
    console.post("/admin/orders/joborder/", {"action": "cancel_orders", "_selected_action": [order.pk]})
    entry = services.do_not_assign_add(client="Acme Logistics", worker_id="W-5", reason="late twice", actor="ops")
    console.post("/admin/orders/donotassign/", {"action": "delete_selected", "_selected_action": [entry.pk], "post": "yes"})

    rows = _decisions()[before:]
    assert [(r.kind, r.actor, r.order_id) for r in rows] == [
        ("proposal_accepted", "ops", "JO-1"), ("proposal_rejected", "ops", "JO-2"), ("order_cancelled", "ops", "JO-1"),
        ("do_not_assign_added", "ops", ""), ("do_not_assign_removed", "ops", ""),
    ]
    assert not DoNotAssign.objects.exists()


def test_a_note_with_a_secret_is_scrubbed_before_it_is_written(coordinator_client, workers):
    _order()
    proposal = _propose(coordinator_client, "JO-1", ["W-1", "W-2"]).json()
    coordinator_client.post(f"/api/v1/orders/JO-1/proposals/{proposal['id']}/reject/", {"note": f"pasted key {SECRET} by mistake"}, format="json")
    row = _decisions(kind="proposal_rejected")[0]
    assert SECRET not in str(row.request) and row.request["note"] == "pasted key [REDACTED] by mistake"
    history = coordinator_client.get("/api/v1/orders/JO-1/history/").json()
    assert SECRET not in str(history)


# Refused and rolled-back decisions: no row ---------------------------------------------------------------


def test_refused_decisions_write_no_row(coordinator_client, staff_client, workers):
    _order("JO-1")
    _order("JO-2", end_date=date(2026, 12, 9))
    Worker.objects.filter(pk=_worker("W-9").pk).update(city="Dayton")
    # 400: a failing verdict, a malformed body, a note too long.
    assert _propose(coordinator_client, "JO-1", ["W-1", "W-9"]).status_code == 400
    assert _propose(coordinator_client, "JO-1", ["W-1"], extra=1).status_code == 400
    first = _propose(coordinator_client, "JO-1", ["W-1", "W-2"]).json()
    second = _propose(coordinator_client, "JO-2", ["W-2", "W-3"]).json()
    before = len(_decisions())
    assert coordinator_client.post(f"/api/v1/orders/JO-1/proposals/{first['id']}/accept/", {"note": "x" * 2001}, format="json").status_code == 400
    assert coordinator_client.post(f"/api/v1/orders/JO-1/proposals/{first['id']}/reject/", {"why": "unknown field"}, format="json").status_code == 400
    assert coordinator_client.post("/api/v1/orders/JO-1/assignments/W-1/end/", {"reason": "bored"}, format="json").status_code == 400
    assert FillProposal.objects.get(pk=first["id"]).status == "proposed"
    # 404: unknown proposal, a worker with no assignment.
    assert coordinator_client.post("/api/v1/orders/JO-1/proposals/9999/accept/").status_code == 404
    assert coordinator_client.post("/api/v1/orders/JO-1/assignments/W-5/end/", {"reason": "no_show"}, format="json").status_code == 404
    assert len(_decisions()) == before

    # 409: a double booking at accept, a second decision on a decided proposal, a second cancel.
    assert coordinator_client.post(f"/api/v1/orders/JO-1/proposals/{first['id']}/accept/").status_code == 200
    before = len(_decisions())
    assert coordinator_client.post(f"/api/v1/orders/JO-2/proposals/{second['id']}/accept/").status_code == 409
    assert coordinator_client.post(f"/api/v1/orders/JO-1/proposals/{first['id']}/accept/").status_code == 409
    assert coordinator_client.post("/api/v1/orders/JO-1/assignments/W-1/end/", {"reason": "completed"}, format="json").status_code == 200
    assert coordinator_client.post("/api/v1/orders/JO-1/assignments/W-1/end/", {"reason": "completed"}, format="json").status_code == 409
    assert staff_client.post("/api/v1/orders/JO-2/cancel/").status_code == 200
    assert staff_client.post("/api/v1/orders/JO-2/cancel/").status_code == 409
    assert staff_client.post("/api/v1/do-not-assign/", {"client": "Acme Logistics", "worker_id": "W-4", "reason": "r"}, format="json").status_code == 201
    assert staff_client.post("/api/v1/do-not-assign/", {"client": "ACME logistics", "worker_id": "W-4", "reason": "r"}, format="json").status_code == 409
    assert [r.kind for r in _decisions()[before:]] == ["assignment_ended", "order_cancelled", "do_not_assign_added"]


def test_a_rolled_back_decision_leaves_no_row(workers):
    _order()
    proposal = services.proposal_create(order_id="JO-1", worker_ids=["W-1", "W-2"], actor="a")
    before = len(_decisions())
    with pytest.raises(RuntimeError), transaction.atomic():
        services.proposal_accept(order_id="JO-1", proposal_id=proposal.pk, actor="a")
        assert _decisions()[-1].kind == "proposal_accepted"  # written in the decision's transaction...
        raise RuntimeError("the caller's transaction fails")
    assert len(_decisions()) == before  # ...and gone with it
    assert FillProposal.objects.get(pk=proposal.pk).status == "proposed"


# Reading the history ------------------------------------------------------------------------------------


def test_the_order_history_lists_its_decisions_newest_first(coordinator_client, staff_client, workers):
    _order("JO-1")
    _order("JO-2")
    proposal = _propose(coordinator_client, "JO-1", ["W-1", "W-2"]).json()
    coordinator_client.post(f"/api/v1/orders/JO-1/proposals/{proposal['id']}/accept/")
    coordinator_client.post(f"/api/v1/orders/JO-1/proposals/{proposal['id']}/reject/", {"note": "wrong site"}, format="json")
    assert _propose(coordinator_client, "JO-2", ["W-3", "W-4"]).status_code == 201  # another order's decision
    staff_client.post("/api/v1/orders/JO-1/cancel/")

    for path in ("/api/v1/orders/JO-1/history/", "/api/v1/orders/JO-1/history"):
        response = coordinator_client.get(path)
        assert response.status_code == 200, response.content
        body = response.json()
        assert body["count"] == 4
        assert [d["kind"] for d in body["results"]] == ["order_cancelled", "proposal_rejected", "proposal_accepted", "proposal_created"]
    rejected = body["results"][1]
    assert rejected == {
        "id": rejected["id"], "kind": "proposal_rejected", "occurred_at": rejected["occurred_at"], "actor": "coordinator", "order_id": "JO-1",
        "proposal_id": proposal["id"], "client": "Acme Logistics", "worker_ids": ["W-1", "W-2"], "reason": "", "note": "wrong site",
        "previous_status": "accepted", "new_status": "rejected", "order_previous_status": "filled", "order_new_status": "open",
    }
    assert coordinator_client.get("/api/v1/orders/JO-404/history/").status_code == 404
    assert coordinator_client.get("/api/v1/orders/JO-2/history/").json()["count"] == 1


def test_operators_filter_the_interaction_log_by_order_worker_and_kind(coordinator_client, staff_client, workers):
    _order("JO-1")
    _order("JO-2")
    one = _propose(coordinator_client, "JO-1", ["W-1", "W-2"]).json()
    _propose(coordinator_client, "JO-2", ["W-2", "W-3"])
    coordinator_client.post(f"/api/v1/orders/JO-1/proposals/{one['id']}/accept/")
    coordinator_client.post("/api/v1/validate/fill", {"order_id": "JO-1", "worker_ids": ["W-1"]}, format="json")  # not a decision

    def kinds(query: str) -> list[tuple[str, str]]:
        response = staff_client.get(f"/api/v1/interactions/?{query}")
        assert response.status_code == 200, response.content
        return [(row["kind"], row["order_id"]) for row in response.json()["results"]]

    assert kinds("order=JO-1") == [("proposal_accepted", "JO-1"), ("proposal_created", "JO-1")]
    assert kinds("worker=W-2") == [("proposal_accepted", "JO-1"), ("proposal_created", "JO-2"), ("proposal_created", "JO-1")]
    assert kinds("worker=W-3") == [("proposal_created", "JO-2")]
    assert kinds("kind=proposal_created&worker=W-1") == [("proposal_created", "JO-1")]
    assert kinds("kind=proposal_accepted") == [("proposal_accepted", "JO-1")]
    assert staff_client.get("/api/v1/interactions/?kind=nonsense").status_code == 400
    # The log is the operators'; coordinators read an order's history instead (SPEC §5, §3.5).
    assert coordinator_client.get("/api/v1/interactions/?order=JO-1").status_code == 403
    assert coordinator_client.get("/api/v1/orders/JO-1/history/").status_code == 200
    assert staff_client.get("/api/v1/orders/JO-1/history/").status_code == 200


def test_anonymous_callers_read_no_history(workers):
    from rest_framework.test import APIClient

    _order()
    response = APIClient().get("/api/v1/orders/JO-1/history/")
    assert response.status_code == 401 and response.json()["error"]["code"] == "not_authenticated"


def test_feedback_cannot_judge_a_decision_and_the_materializer_leaves_decisions_out(coordinator_client, workers, settings, tmp_path):
    """Decisions are the audit trail, not workflow results: no evidence is made from them, and a
    materialize run over them reports no error."""
    from apps.evidence.models import EvidenceRecord
    from apps.evidence.services import build_evidence_index

    settings.KB_DIR = tmp_path / "kb"
    _order()
    _propose(coordinator_client, "JO-1", ["W-1", "W-2"])
    decision = _decisions()[0]
    response = coordinator_client.post("/api/v1/evidence/feedback/", {"target_id": str(decision.pk), "verdict": "accept"}, format="json")
    assert response.status_code == 400 and "target_id" in response.json()["error"]["fields"]

    run = build_evidence_index(actor="tester")
    assert run.status == "succeeded" and run.errors_count == 0, run.errors
    assert not EvidenceRecord.objects.filter(source_id=str(decision.pk)).exists()


def test_the_history_and_worker_lookups_can_use_their_partial_indexes(workers):
    """The log grows with every search; an order's history and a worker's decisions must stay index
    lookups (the planner uses a partial index only when the query implies its predicate)."""
    from django.db import connection

    from apps.interactions.selectors import interactions_about
    from apps.orders.selectors import order_history

    _order()
    services.proposal_create(order_id="JO-1", worker_ids=["W-1", "W-2"], actor="a")
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        for queryset, index in (
            (order_history("JO-1"), "interaction_order_time"),
            (interactions_about(worker_id="W-1"), "interaction_workers_gin"),
        ):
            sql, params = queryset.query.sql_with_params()
            cursor.execute(f"EXPLAIN {sql}", params)
            plan = "\n".join(row[0] for row in cursor.fetchall())
            assert index in plan, plan


def test_a_do_not_assign_entry_is_not_edited_in_place_in_the_console(workers):
    """Adds and removals are audited; an edit would change a ban's reason unseen, so there is none."""
    issue_api_token(username="ops", staff=True, password="pw-ops-123")
    console = BrowserClient()
    assert console.login(username="ops", password="pw-ops-123")
    entry = services.do_not_assign_add(client="Acme Logistics", worker_id="W-1", reason="late twice", actor="ops")
    page = console.get(f"/admin/orders/donotassign/{entry.pk}/change/")
    assert page.status_code == 200 and 'name="_save"' not in page.content.decode()
    console.post(f"/admin/orders/donotassign/{entry.pk}/change/", {"reason": "rewritten"})
    assert DoNotAssign.objects.get(pk=entry.pk).reason == "late twice"
    assert console.post(f"/admin/orders/donotassign/{entry.pk}/delete/", {"post": "yes"}).status_code == 302
    assert [r.kind for r in _decisions()] == ["do_not_assign_added", "do_not_assign_removed"]
