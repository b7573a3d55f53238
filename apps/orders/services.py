"""Writes of job orders and fill proposals, and their lifecycle (SPEC §3.2, §4.8a).

Every writer — the API, the admin, imports — goes through these functions, so an order is valid by
one definition (the model's field validators and `clean`, run by `full_clean`) and a proposal by one
verdict (the pure FillValidator over data looked up here in bulk).

Locks: a decision locks the order row, then the rows of the proposal's workers in worker_id order.
Two accepts that share a worker therefore run one after the other, and the second re-validates
against the first's committed booking (409); accepts that share nothing run in parallel.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from apps.core.errors import Conflict, InvalidInput, NotFound
from apps.orders.choices import OrderStatus, ProposalStatus
from apps.orders.models import FillProposal, JobOrder
from apps.orders.selectors import accepted_worker_ids, bookings_for, order_as_dict, order_query
from apps.validation.fill_validator import DUPLICATE_WORKER, FillValidator
from apps.workers.models import Worker

_FILL_VALIDATOR = FillValidator()

# The worker fields the FillValidator reads.
_FILL_WORKER_FIELDS = ("worker_id", "city", "state", "role", "certifications", "shift_preference", "available_from", "status")

ORDER_WRITABLE_FIELDS = (
    "order_id", "client", "city", "state", "site_zip", "role", "headcount", "shift", "start_date", "end_date",
    "required_certifications",
)


# Orders ---------------------------------------------------------------------------------------------


def _normalized(fields: dict[str, Any]) -> dict[str, Any]:
    unknown = set(fields) - set(ORDER_WRITABLE_FIELDS)
    if unknown:
        raise InvalidInput(f"Unknown order fields: {', '.join(sorted(unknown))}.", fields={k: ["Unknown field."] for k in sorted(unknown)})
    cleaned = dict(fields)
    if isinstance(cleaned.get("state"), str):
        cleaned["state"] = cleaned["state"].strip().upper()
    if cleaned.get("site_zip") is None and "site_zip" in cleaned:
        cleaned["site_zip"] = ""
    return cleaned


def order_create(*, actor: str = "", **fields: Any) -> JobOrder:
    """Create an order; a Django ValidationError (field → messages) when it is not valid."""
    order = JobOrder(created_by=actor, **_normalized(fields))
    order.full_clean()
    order.save()
    return order


def order_update(*, order: JobOrder, **fields: Any) -> JobOrder:
    """Change an order's fields (not its status: that follows its proposals, or order_cancel)."""
    with transaction.atomic():
        for name, value in _normalized(fields).items():
            setattr(order, name, value)
        order.full_clean()
        _sync_fill_status(order)  # a changed headcount can fill or reopen the order
        order.save()
    return order


def order_cancel(*, order_id: str, actor: str = "") -> JobOrder:
    """Cancel an order: its open proposals are rejected; its accepted workers are free again (bookings
    only count open and filled orders)."""
    with transaction.atomic():
        order = _locked_order(order_id)
        if order.status == OrderStatus.CANCELLED:
            raise Conflict(f"Order {order_id} is already cancelled.", code="order_cancelled")
        order.status = OrderStatus.CANCELLED
        order.save(update_fields=["status", "updated_at"])
        order.proposals.filter(status=ProposalStatus.PROPOSED).update(status=ProposalStatus.REJECTED, decided_at=timezone.now())
    return order


# Proposals ------------------------------------------------------------------------------------------


def check_fill(*, order: dict[str, Any], worker_ids: list[str]) -> dict[str, Any]:
    """FillValidator over a proposal (SPEC §4.5), without writing: one query for the workers, one for
    the bookings that double-booking checks."""
    workers = {row["worker_id"]: row for row in Worker.objects.filter(worker_id__in=set(worker_ids)).values(*_FILL_WORKER_FIELDS)}
    bookings = bookings_for(workers, exclude_order_id=order.get("order_id"))
    return _FILL_VALIDATOR.validate(order, worker_ids, workers, bookings).to_dict()


def _check_open_seats(order: JobOrder, worker_ids: list[str]) -> dict[str, Any]:
    """The verdict for filling the order's open seats: the headcount the FillValidator checks is what
    accepted proposals have left, and a worker already accepted for this order counts as a duplicate."""
    taken = accepted_worker_ids(order)
    verdict = check_fill(order={**order_as_dict(order), "headcount": max(order.headcount - len(taken), 0)}, worker_ids=worker_ids)
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


def proposal_create(*, order_id: str, worker_ids: list[str], actor: str = "") -> FillProposal:
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
    return FillProposal.objects.create(order=order, worker_ids=worker_ids, verdict=verdict, ok=True, created_by=actor)


def proposal_accept(*, order_id: str, proposal_id: int, actor: str = "") -> FillProposal:
    """Book the proposal's workers (step 4): re-validated under row locks (409 when something changed
    since it was proposed); the order becomes `filled` when accepted workers reach its headcount, and
    the fill is recorded in the playbook memory in the same transaction."""
    from apps.playbooks.services import record_playbook  # playbooks sits above orders (its rows point at orders)

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
        if _sync_fill_status(order):
            order.save(update_fields=["status", "updated_at"])
        # Last: recording takes the playbook index's registry row lock until commit.
        record_playbook(
            query=order_query(order),
            worker_ids=list(proposal.worker_ids),
            outcome="filled",
            filters={"role": order.role, "state": order.state, "city": order.city},
            order_id=order.order_id,
            actor=actor,
        )
    return proposal


def proposal_reject(*, order_id: str, proposal_id: int, actor: str = "") -> FillProposal:
    """Reject a proposal, proposed or accepted; an accepted one frees its workers and reopens a filled
    order."""
    with transaction.atomic():
        order = _locked_order(order_id)
        proposal = _locked_proposal(order, proposal_id)
        if proposal.status == ProposalStatus.REJECTED:
            raise Conflict(f"Proposal {proposal_id} is already rejected.", code="proposal_decided")
        proposal.status, proposal.decided_at = ProposalStatus.REJECTED, timezone.now()
        proposal.save(update_fields=["status", "decided_at"])
        if _sync_fill_status(order):
            order.save(update_fields=["status", "updated_at"])
    return proposal


# Helpers --------------------------------------------------------------------------------------------


def _sync_fill_status(order: JobOrder) -> bool:
    """Open ↔ filled follows the accepted workers against the headcount (a cancelled order stays
    cancelled). Returns whether the status changed; the caller saves."""
    if order.status == OrderStatus.CANCELLED or order.pk is None:
        return False
    wanted = OrderStatus.FILLED if len(accepted_worker_ids(order)) >= order.headcount else OrderStatus.OPEN
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
