"""Writes of job orders and fill proposals, and their lifecycle (SPEC §3.2, §4.8a).

Every writer — the API, the admin, imports — goes through these functions, so an order is valid by
one definition (the model's field validators and `clean`, run by `full_clean`) and a proposal by one
verdict (the pure FillValidator over data looked up here in bulk).

Every decision (propose, accept, reject, cancel, end an assignment, list or unlist a worker) writes
its audit row — an interaction of a decision kind, with who, what, why and the status change — in
the decision's own transaction: a refused or rolled-back decision leaves none (SPEC §4.8a step 6).

Locks: a decision locks the order row, then the rows of the proposal's workers in worker_id order.
Two accepts that share a worker therefore run one after the other, and the second re-validates
against the first's committed booking (409); accepts that share nothing run in parallel.
"""

from __future__ import annotations

import csv
import io
from typing import Any, Iterable

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.core.errors import Conflict, InvalidInput, NotFound
from apps.core.jobs import JobContext, enqueue_after_commit, run_job
from apps.interactions.choices import InteractionKind
from apps.interactions.services import log_interaction
from apps.orders.choices import SEAT_FREEING_REASONS, AssignmentEndReason, OrderStatus, ProposalStatus, client_key
from apps.orders.models import AssignmentEnd, Client, DoNotAssign, FillProposal, JobOrder, OrderImportJob
from apps.orders.selectors import (
    accepted_worker_ids, banned_workers, bookings_for, ended_worker_ids, order_as_dict, order_query, seated_worker_ids,
)
from apps.orders.fill_validator import DUPLICATE_WORKER, FillValidator
from apps.orders.outcomes import record_fill_outcome
from apps.workers.models import Worker
from apps.workers.selectors import worker_rows

_FILL_VALIDATOR = FillValidator()

# The worker fields the FillValidator reads.
_FILL_WORKER_FIELDS = ("worker_id", "city", "state", "role", "certifications", "shift_preference", "available_from", "status")

ORDER_WRITABLE_FIELDS = (
    "order_id", "client", "city", "state", "site_zip", "role", "headcount", "shift", "start_date", "end_date",
    "required_certifications",
)


# Clients --------------------------------------------------------------------------------------------


def client_for_name(name: str) -> Client:
    """The client a name means, created on first use. Operators type client names on orders and list
    entries; requiring a separate "create client" step first would only add a way to fail, while the
    key (case- and space-insensitive) already makes a respelling the same client. Concurrent first
    uses meet at the unique key: the loser reads the winner's row."""
    name = " ".join(str(name or "").split())
    if not name:
        raise ValidationError({"client": ["A client name is required."]})
    if len(name) > 200:
        raise ValidationError({"client": ["At most 200 characters."]})
    existing = Client.objects.filter(key=client_key(name)).first()
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            return Client.objects.create(name=name)
    except IntegrityError:
        return Client.objects.get(key=client_key(name))


# Orders ---------------------------------------------------------------------------------------------


def _normalized(fields: dict[str, Any]) -> dict[str, Any]:
    unknown = set(fields) - set(ORDER_WRITABLE_FIELDS)
    if unknown:
        raise InvalidInput(f"Unknown order fields: {', '.join(sorted(unknown))}.", fields={k: ["Unknown field."] for k in sorted(unknown)})
    cleaned = dict(fields)
    if "client" in cleaned and not isinstance(cleaned["client"], Client):
        cleaned["client"] = client_for_name(cleaned["client"])
    if isinstance(cleaned.get("state"), str):
        cleaned["state"] = cleaned["state"].strip().upper()
    if cleaned.get("site_zip") is None and "site_zip" in cleaned:
        cleaned["site_zip"] = ""
    return cleaned


def order_create(*, actor: str = "", **fields: Any) -> JobOrder:
    """Create an order; a Django ValidationError (field → messages) when it is not valid. `client` is
    a name (or a Client); a new name creates the client."""
    with transaction.atomic():  # a new client is not left behind by an invalid order
        order = JobOrder(created_by=actor, **_normalized(fields))
        order.full_clean()
        order.save()
    return order


def order_closed_reason(order: JobOrder) -> str:
    """Why the order can no longer be changed or decided on, or "" while it can. A cancelled order is
    closed: its proposals were rejected and its workers freed, so it stays as it was when cancelled —
    the record its history describes (a client who wants it back gets a new order). Filled orders are
    not closed: a no-show reopens them and a headcount change is how more workers are asked for. The
    one statement of the rule: the admin's read-only page, the fill page and every write below ask it."""
    if order.status == OrderStatus.CANCELLED:
        return f"Order {order.order_id} is cancelled: a cancelled order can no longer be changed or filled. Create a new order instead."
    return ""


def _require_changeable(order: JobOrder) -> None:
    """A change to a closed order is bad input (400, code `order_closed`), named on its status."""
    reason = order_closed_reason(order)
    if reason:
        raise InvalidInput(reason, code="order_closed", fields={"status": [reason]})


def order_update(*, order: JobOrder, **fields: Any) -> JobOrder:
    """Change an order's fields (not its status: that follows its proposals, or order_cancel). A closed
    order refuses (`order_closed`) and nothing is written. The row is locked and its status re-read, so
    a change racing a cancel either lands first or is refused — never writes a stale `open` back."""
    with transaction.atomic():
        current = JobOrder.objects.select_for_update().filter(pk=order.pk).first() if order.pk else None
        if current is None:
            raise NotFound(f"No job order {order.order_id!r}.")
        _require_changeable(current)
        order.status = current.status
        for name, value in _normalized(fields).items():
            setattr(order, name, value)
        order.full_clean()
        _sync_fill_status(order)  # a changed headcount can fill or reopen the order
        order.save()
    return order


def order_cancel(*, order_id: str, actor: str = "", note: str = "") -> JobOrder:
    """Cancel an order: its open proposals are rejected; its accepted workers are free again (bookings
    only count open and filled orders)."""
    with transaction.atomic():
        order = _locked_order(order_id)
        if order.status == OrderStatus.CANCELLED:
            raise Conflict(f"Order {order_id} is already cancelled.", code="order_cancelled")
        previous = order.status
        open_proposals = list(order.proposals.filter(status=ProposalStatus.PROPOSED).values_list("pk", "worker_ids"))
        order.status = OrderStatus.CANCELLED
        order.save(update_fields=["status", "updated_at"])
        order.proposals.filter(status=ProposalStatus.PROPOSED).update(status=ProposalStatus.REJECTED, decided_at=timezone.now())
        freed = [*seated_worker_ids(order), *(w for _, worker_ids in open_proposals for w in worker_ids)]
        _audit(
            InteractionKind.ORDER_CANCELLED, actor=actor, order=order, worker_ids=freed, note=note,
            status=(previous, OrderStatus.CANCELLED), order_status=(previous, OrderStatus.CANCELLED),
            rejected_proposal_ids=[pk for pk, _ in open_proposals],
        )
    return order


# Proposals ------------------------------------------------------------------------------------------


def check_fill(*, order: dict[str, Any], worker_ids: list[str]) -> dict[str, Any]:
    """FillValidator over a proposal (SPEC §4.5), without writing: one query for the workers, one for
    the bookings that double-booking checks."""
    workers = {row["worker_id"]: row for row in worker_rows(_FILL_WORKER_FIELDS, worker_ids=worker_ids)}
    bookings = bookings_for(workers, exclude_order_id=order.get("order_id"))
    banned = banned_workers(order.get("client"), workers)
    return _FILL_VALIDATOR.validate(order, worker_ids, workers, bookings, banned=banned).to_dict()


def _check_open_seats(order: JobOrder, worker_ids: list[str]) -> dict[str, Any]:
    """The verdict for filling the order's open seats: the headcount the FillValidator checks is what
    accepted proposals have left, and a worker already accepted for this order counts as a duplicate."""
    seated = seated_worker_ids(order)
    verdict = check_fill(order={**order_as_dict(order), "headcount": max(order.headcount - len(seated), 0)}, worker_ids=worker_ids)
    taken = accepted_worker_ids(order)  # a worker who no-showed or declined is not proposed again
    again = [
        {"code": DUPLICATE_WORKER, "worker_id": w, "message": f"{w} is already accepted for order {order.order_id}."}
        for w in dict.fromkeys(worker_ids)
        if w in taken
    ]
    if again:
        verdict = {**verdict, "ok": False, "errors": verdict["errors"] + again}
    return verdict


def proposal_check(*, order_id: str, worker_ids: list[str]) -> dict[str, Any]:
    """The verdict proposal_create would give these workers now, without writing (the console shows it
    inline before the coordinator proposes)."""
    return _check_open_seats(_order(order_id), worker_ids)


def proposal_create(*, order_id: str, worker_ids: list[str], actor: str = "", note: str = "") -> FillProposal:
    """Propose workers for an open order (SPEC §4.8a step 2). A failing verdict is a 400 whose
    `worker_ids` field lists the verdict's errors, and nothing is written."""
    order = _order(order_id)
    _require_open(order)
    verdict = _check_open_seats(order, worker_ids)
    if not verdict["ok"]:
        raise InvalidInput(
            f"The proposal does not validate: {', '.join(sorted({e['code'] for e in verdict['errors']}))}.",
            code="fill_invalid",
            fields={"worker_ids": [{"worker_id": e["worker_id"], "code": e["code"], "message": e["message"]} for e in verdict["errors"]]},
        )
    with transaction.atomic():
        proposal = FillProposal.objects.create(order=order, worker_ids=worker_ids, verdict=verdict, ok=True, created_by=actor)
        _audit(
            InteractionKind.PROPOSAL_CREATED, actor=actor, order=order, proposal=proposal, note=note,
            status=(None, ProposalStatus.PROPOSED), order_status=(order.status, order.status),
        )
    return proposal


def proposal_accept(*, order_id: str, proposal_id: int, actor: str = "", note: str = "") -> FillProposal:
    """Book the proposal's workers (step 4): re-validated under row locks (409 when something changed
    since it was proposed); the order becomes `filled` when accepted workers reach its headcount, and
    the fill is recorded in the playbook memory in the same transaction."""
    with transaction.atomic():
        order = _locked_order(order_id)
        proposal = _locked_proposal(order, proposal_id)
        if proposal.status != ProposalStatus.PROPOSED:
            raise Conflict(f"Proposal {proposal_id} is already {proposal.status}.", code="proposal_decided")
        _require_open(order)
        # Lock the workers' rows: a concurrent accept sharing one waits here, then sees this booking.
        list(Worker.objects.select_for_update().filter(worker_id__in=proposal.worker_ids).order_by("worker_id").values_list("pk", flat=True))
        verdict = _check_open_seats(order, list(proposal.worker_ids))
        if not verdict["ok"]:
            raise Conflict(
                f"Proposal {proposal_id} no longer validates: {', '.join(sorted({e['code'] for e in verdict['errors']}))}.",
                code="proposal_invalid",
            )
        proposal.verdict, proposal.status, proposal.decided_at = verdict, ProposalStatus.ACCEPTED, timezone.now()
        proposal.save(update_fields=["verdict", "status", "decided_at"])
        order_before = order.status
        if _sync_fill_status(order):
            order.save(update_fields=["status", "updated_at"])
        _audit(
            InteractionKind.PROPOSAL_ACCEPTED, actor=actor, order=order, proposal=proposal, note=note,
            status=(ProposalStatus.PROPOSED, ProposalStatus.ACCEPTED), order_status=(order_before, order.status),
        )
        # Last: recording takes the playbook index's registry row lock until commit.
        record_fill_outcome(
            query=order_query(order),
            worker_ids=list(proposal.worker_ids),
            outcome="filled",
            filters={"role": order.role, "state": order.state, "city": order.city},
            order_id=order.order_id,
            actor=actor,
        )
    return proposal


def proposal_reject(*, order_id: str, proposal_id: int, actor: str = "", note: str = "") -> FillProposal:
    """Reject a proposal, proposed or accepted; an accepted one frees its workers and reopens a filled
    order."""
    with transaction.atomic():
        order = _locked_order(order_id)
        proposal = _locked_proposal(order, proposal_id)
        if proposal.status == ProposalStatus.REJECTED:
            raise Conflict(f"Proposal {proposal_id} is already rejected.", code="proposal_decided")
        if order_closed_reason(order):  # its workers were freed by the cancel; nothing is left to decide
            raise Conflict(order_closed_reason(order), code="order_closed")
        previous, order_before = proposal.status, order.status
        proposal.status, proposal.decided_at = ProposalStatus.REJECTED, timezone.now()
        proposal.save(update_fields=["status", "decided_at"])
        if _sync_fill_status(order):
            order.save(update_fields=["status", "updated_at"])
        _audit(
            InteractionKind.PROPOSAL_REJECTED, actor=actor, order=order, proposal=proposal, note=note,
            status=(previous, ProposalStatus.REJECTED), order_status=(order_before, order.status),
        )
    return proposal


# Assignments ----------------------------------------------------------------------------------------


def assignment_end(*, order_id: str, worker_id: str, reason: str, actor: str = "", note: str = "") -> AssignmentEnd:
    """End an accepted worker's assignment (SPEC §4.8a step 5). The worker stops booking; a no-show or
    decline also frees the seat (a `filled` order reopens) and records a negative playbook, in the same
    transaction. Ending twice is a 409."""
    if reason not in AssignmentEndReason.values:
        raise InvalidInput(f"Unknown reason {reason!r}.", fields={"reason": [f"One of: {', '.join(AssignmentEndReason.values)}."]})
    with transaction.atomic():
        order = _locked_order(order_id)
        if order_closed_reason(order):
            raise Conflict(order_closed_reason(order), code="order_closed")
        if worker_id not in accepted_worker_ids(order):
            raise NotFound(f"{worker_id} has no accepted assignment on order {order_id}.")
        if worker_id in ended_worker_ids(order):
            raise Conflict(f"{worker_id}'s assignment on order {order_id} has already ended.", code="assignment_ended")
        ended = AssignmentEnd.objects.create(order=order, worker_id=worker_id, reason=reason, ended_by=actor)
        order_before = order.status
        if _sync_fill_status(order):
            order.save(update_fields=["status", "updated_at"])
        proposal_pk = (
            FillProposal.objects.filter(order=order, status=ProposalStatus.ACCEPTED, worker_ids__contains=[worker_id])
            .values_list("pk", flat=True).first()
        )
        _audit(
            InteractionKind.ASSIGNMENT_ENDED, actor=actor, order=order, worker_ids=[worker_id], proposal_id=proposal_pk,
            reason=reason, note=note, status=(ProposalStatus.ACCEPTED, "ended"), order_status=(order_before, order.status),
        )
        if reason in SEAT_FREEING_REASONS:
            record_fill_outcome(
                query=order_query(order),
                worker_ids=[worker_id],
                outcome=reason,
                filters={"role": order.role, "state": order.state, "city": order.city},
                order_id=order.order_id,
                actor=actor,
            )
    return ended


# Do-not-assign --------------------------------------------------------------------------------------


def do_not_assign_add(*, client: str, worker_id: str, reason: str, actor: str = "") -> DoNotAssign:
    """Ban a worker from a client (SPEC §3.2a). Takes the worker's row lock, the lock an accept takes
    before it re-validates: an accept that races this add either commits first (the ban comes after
    the booking) or waits and then sees the ban (409). Already banned is a 409."""
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput("A reason is required.", fields={"reason": ["A reason is required."]})
    with transaction.atomic():
        worker = Worker.objects.select_for_update().filter(worker_id=worker_id).first()
        if worker is None:
            raise InvalidInput(f"No worker {worker_id!r}.", fields={"worker_id": ["No such worker."]})
        try:
            owner = client_for_name(client)
        except ValidationError as exc:
            raise InvalidInput("Invalid client.", fields={"client": exc.message_dict.get("client", exc.messages)}) from exc
        if DoNotAssign.objects.filter(client=owner, worker=worker).exists():
            raise Conflict(f"{worker_id} is already on {owner.name}'s do-not-assign list.", code="already_listed")
        entry = DoNotAssign.objects.create(client=owner, worker=worker, reason=reason, created_by=actor)
        _audit(
            InteractionKind.DO_NOT_ASSIGN_ADDED, actor=actor, client=owner, worker_ids=[worker_id], reason=reason,
            status=(None, _LISTED), entry_id=entry.pk,
        )
        return entry


def do_not_assign_remove(*, entry_id: int, actor: str = "", note: str = "") -> None:
    """Take a worker off a client's list; the audit row keeps the reason the worker was listed for."""
    with transaction.atomic():
        entry = DoNotAssign.objects.select_for_update().select_related("client").filter(pk=entry_id).first()
        if entry is None:
            raise NotFound(f"No do-not-assign entry {entry_id}.")
        entry.delete()
        _audit(
            InteractionKind.DO_NOT_ASSIGN_REMOVED, actor=actor, client=entry.client, worker_ids=[entry.worker_id],
            reason=entry.reason, note=note, status=(_LISTED, None), entry_id=entry_id,
        )


def do_not_assign_import_csv(text: str, *, actor: str = "") -> tuple[int, list[str]]:
    """Bulk add from CSV with a header `client,worker_id,reason`: each row through do_not_assign_add.
    Returns (added, problems) — one problem line per rejected row, with its line number."""
    reader = csv.DictReader(io.StringIO(text))
    missing = {"client", "worker_id", "reason"} - set(reader.fieldnames or ())
    if missing:
        return 0, [f"line 1: missing column(s) {', '.join(sorted(missing))}"]
    added, problems = 0, []
    for row in reader:
        try:
            do_not_assign_add(client=row["client"] or "", worker_id=(row["worker_id"] or "").strip(), reason=row["reason"] or "", actor=actor)
        except (InvalidInput, Conflict) as exc:
            problems.append(f"line {reader.line_num}: {exc}")
        else:
            added += 1
    return added, problems


# Order import (a job of kind `orders`) ----------------------------------------------------------------

ORDER_IMPORT_COLUMNS = ("order_id", "client", "city", "state", "role", "headcount", "shift", "start_date")
_IMPORT_BATCH = 100  # rows between progress writes and cancel checks


def create_order_import_job(
    *, csv_text: str, source_name: str = "", actor: str = "", dispatch: bool = True, retry_of: OrderImportJob | None = None,
) -> OrderImportJob:
    """Record a queued import and (after commit) hand it to the Celery worker. A file without the
    required columns is a 400 here, before any job exists."""
    header = next(csv.reader(io.StringIO(csv_text)), [])
    missing = [c for c in ORDER_IMPORT_COLUMNS if c not in {h.strip() for h in header}]
    if missing:
        raise InvalidInput(f"The CSV lacks column(s): {', '.join(missing)}.", fields={"file": [f"Missing column(s): {', '.join(missing)}."]})
    job = OrderImportJob.objects.create(csv_text=csv_text, source_name=source_name[:255], created_by=actor, retry_of=retry_of)
    if dispatch:
        enqueue_after_commit(job)
    job.refresh_from_db()
    return job


def relaunch_order_import_job(job: OrderImportJob, actor: str) -> OrderImportJob:
    """A retry: the same CSV as a new job (the job-kind registry's relaunch)."""
    return create_order_import_job(csv_text=job.csv_text, source_name=job.source_name, actor=actor, retry_of=job)


def _order_fields_from_row(row: dict[str, str]) -> dict[str, Any]:
    fields: dict[str, Any] = {k: (row.get(k) or "").strip() for k in ORDER_WRITABLE_FIELDS if k in row}
    fields["required_certifications"] = [c.strip() for c in (row.get("required_certifications") or "").split(";") if c.strip()]
    fields["end_date"] = fields.get("end_date") or None
    fields["site_zip"] = fields.get("site_zip") or ""
    return fields


def _rejection(exc: Exception) -> str:
    if isinstance(exc, ValidationError) and hasattr(exc, "message_dict"):
        return "; ".join(f"{field}: {' '.join(messages)}" for field, messages in exc.message_dict.items())
    return str(exc)


def run_order_import(job_id: int) -> OrderImportJob:
    """Import the job's rows through the job runner: every row through order_create (one definition
    of a valid order), each in its own savepoint so a bad row rejects only itself. Idempotent: an
    order_id that exists is counted `existing` and left unchanged, so a re-run after a lost worker
    converges. A cancel stops at the next batch boundary; the rows already imported stay."""

    def work(job: OrderImportJob, context: JobContext) -> None:
        rows = list(csv.DictReader(io.StringIO(job.csv_text)))
        counts = {"rows_read": 0, "rows_created": 0, "rows_existing": 0, "rows_rejected": 0}
        errors: list[dict[str, Any]] = []
        OrderImportJob.objects.filter(pk=job.pk).update(rows_total=len(rows))
        for number, row in enumerate(rows):
            if number % _IMPORT_BATCH == 0 and number:
                OrderImportJob.objects.filter(pk=job.pk).update(**counts, errors=errors)
                context.set_progress(100.0 * number / len(rows))
                context.raise_if_cancelled()
            counts["rows_read"] += 1
            line = number + 2  # the header is line 1
            order_id = (row.get("order_id") or "").strip()
            if order_id and JobOrder.objects.filter(order_id=order_id).exists():
                counts["rows_existing"] += 1
                continue
            try:
                with transaction.atomic():
                    order_create(actor=job.created_by, **_order_fields_from_row(row))
            except (ValidationError, InvalidInput, ValueError, TypeError) as exc:
                counts["rows_rejected"] += 1
                if len(errors) < OrderImportJob.MAX_ERRORS:
                    errors.append({"line": line, "order_id": order_id or None, "reason": _rejection(exc)})
            except IntegrityError:  # the same order_id created meanwhile (another import): it exists now
                counts["rows_existing"] += 1
            else:
                counts["rows_created"] += 1
        OrderImportJob.objects.filter(pk=job.pk).update(**counts, errors=errors)

    return run_job(OrderImportJob, job_id, work)


# Audit ----------------------------------------------------------------------------------------------

_LISTED = "listed"  # a do-not-assign entry's one status


def _audit(
    kind: InteractionKind,
    *,
    actor: str,
    status: tuple[str | None, str | None],
    order: JobOrder | None = None,
    proposal: FillProposal | None = None,
    proposal_id: int | None = None,
    client: Client | None = None,
    worker_ids: Iterable[str] = (),
    reason: str = "",
    note: str = "",
    order_status: tuple[str, str] | None = None,
    **details: Any,
) -> None:
    """The audit row of one decision, written by the caller inside the decision's transaction.
    `request` holds what was decided on and why, `response` the status change (log_interaction
    scrubs both); `order_id` and `worker_ids` are the columns an order's history is read by."""
    if proposal is not None:
        proposal_id, worker_ids = proposal.pk, proposal.worker_ids
    worker_ids = list(dict.fromkeys(worker_ids))
    client = client or (order.client if order is not None else None)
    response: dict[str, Any] = {"previous_status": status[0], "new_status": status[1]}
    if order_status is not None:
        response["order_previous_status"], response["order_new_status"] = order_status
    log_interaction(
        kind=kind,
        actor=actor,
        request={
            "order_id": order.order_id if order is not None else None,
            "proposal_id": proposal_id,
            "client": client.name if client is not None else None,
            "worker_ids": worker_ids,
            "reason": reason,
            "note": (note or "").strip(),
        },
        response={**response, **details},
        order_id=order.order_id if order is not None else "",
        worker_ids=worker_ids,
    )


# Helpers --------------------------------------------------------------------------------------------


def _sync_fill_status(order: JobOrder) -> bool:
    """Open ↔ filled follows the accepted workers against the headcount (a cancelled order stays
    cancelled). Returns whether the status changed; the caller saves."""
    if order.status == OrderStatus.CANCELLED or order.pk is None:
        return False
    wanted = OrderStatus.FILLED if len(seated_worker_ids(order)) >= order.headcount else OrderStatus.OPEN
    changed = order.status != wanted
    order.status = wanted
    return changed


def _order(order_id: str) -> JobOrder:
    order = JobOrder.objects.filter(order_id=order_id).first()
    if order is None:
        raise NotFound(f"No job order {order_id!r}.")
    return order


def _locked_order(order_id: str) -> JobOrder:
    order = JobOrder.objects.select_for_update().filter(order_id=order_id).first()
    if order is None:
        raise NotFound(f"No job order {order_id!r}.")
    return order


def _locked_proposal(order: JobOrder, proposal_id: int) -> FillProposal:
    proposal = FillProposal.objects.select_for_update().filter(order=order, pk=proposal_id).first()
    if proposal is None:
        raise NotFound(f"No proposal {proposal_id} for order {order.order_id!r}.")
    return proposal


def _require_open(order: JobOrder) -> None:
    if order.status != OrderStatus.OPEN:
        raise Conflict(f"Order {order.order_id} is {order.status}; only open orders take proposals.", code="order_not_open")
