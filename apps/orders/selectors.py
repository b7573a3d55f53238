"""Reads of job orders and the bookings that FillValidator checks for double-booking."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Iterable

from django.db.models import F, Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from apps.orders.choices import OrderStatus, ProposalStatus
from apps.orders.models import FillProposal, JobOrder


def order_as_dict(order: JobOrder) -> dict[str, Any]:
    return {
        "order_id": order.order_id,
        "city": order.city,
        "state": order.state,
        "role": order.role,
        "headcount": order.headcount,
        "shift": order.shift,
        "start_date": order.start_date,
        "end_date": order.end_date,
        "required_certifications": list(order.required_certifications),
    }


def bookings_for(worker_ids: Iterable[str], *, exclude_order_id: str | None = None) -> list[dict[str, Any]]:
    """Accepted fills of other live (open or filled) orders that involve any of these workers (one
    query). A cancelled order, or a rejected proposal, books no one."""
    proposals = (
        FillProposal.objects.filter(
            status=ProposalStatus.ACCEPTED,
            order__status__in=[OrderStatus.OPEN, OrderStatus.FILLED],
            worker_ids__overlap=list(worker_ids),
        )
        .select_related("order")
        .only("worker_ids", "order__order_id", "order__start_date", "order__end_date")
    )
    if exclude_order_id:
        proposals = proposals.exclude(order__order_id=exclude_order_id)
    return [
        {
            "order_id": p.order.order_id,
            "worker_ids": list(p.worker_ids),
            "start_date": p.order.start_date,
            "end_date": p.order.end_date,
        }
        for p in proposals
    ]


def accepted_worker_ids(order: JobOrder) -> set[str]:
    """The workers booked for this order by its accepted proposals."""
    rows = FillProposal.objects.filter(order=order, status=ProposalStatus.ACCEPTED).values_list("worker_ids", flat=True)
    return {worker_id for worker_ids in rows for worker_id in worker_ids}


def proposal_list(order: JobOrder):
    return order.proposals.select_related("order").order_by("-created_at")


def order_list():
    return JobOrder.objects.all().order_by("-created_at")


def order_query(order: JobOrder) -> str:
    """The order in words: the query its candidate search and its playbook record embed."""
    return f"{order.headcount} {order.get_role_display()} in {order.city}, {order.state} ({order.shift} shift)"


def unavailable_for_order(order: JobOrder) -> set[str]:
    """Workers a candidate search for this order leaves out (SPEC §4.8a): already proposed or accepted
    for it, or booked by an accepted fill of another live order whose dates overlap its own (an order
    without end_date occupies its start date). Two queries, both on indexed columns."""
    mine = FillProposal.objects.filter(order=order, status__in=[ProposalStatus.PROPOSED, ProposalStatus.ACCEPTED]).values_list("worker_ids", flat=True)
    end = order.end_date or order.start_date
    booked = (
        FillProposal.objects.filter(status=ProposalStatus.ACCEPTED, order__status__in=[OrderStatus.OPEN, OrderStatus.FILLED])
        .exclude(order=order)
        .annotate(order_end=Coalesce(F("order__end_date"), F("order__start_date")))
        .filter(order__start_date__lte=end, order_end__gte=order.start_date)
        .values_list("worker_ids", flat=True)
    )
    return {worker_id for rows in (mine, booked) for worker_ids in rows for worker_id in worker_ids}


def filled_counts(orders: Iterable[JobOrder]) -> dict[int, int]:
    """order pk → distinct workers accepted for it (one query for all the orders)."""
    accepted: dict[int, set[str]] = {}
    rows = FillProposal.objects.filter(order__in=list(orders), status=ProposalStatus.ACCEPTED).values_list("order_id", "worker_ids")
    for order_pk, worker_ids in rows:
        accepted.setdefault(order_pk, set()).update(worker_ids)
    return {pk: len(ids) for pk, ids in accepted.items()}


def coordinator_home(*, actor: str, limit: int = 10, horizon_hours: int = 48) -> dict[str, Any]:
    """The coordinator's part of the dashboard: the open orders they created or proposed for (all open
    orders when they have none yet), open orders starting within the horizon, and proposals awaiting a
    decision. Each order carries `filled` (accepted workers) beside its headcount."""
    today = timezone.localdate()
    open_orders = JobOrder.objects.filter(status=OrderStatus.OPEN)
    mine = list(open_orders.filter(Q(created_by=actor) | Q(proposals__created_by=actor)).distinct().order_by("start_date", "order_id")[:limit])
    mine_only = bool(mine)
    if not mine:
        mine = list(open_orders.order_by("start_date", "order_id")[:limit])
    starting = list(
        open_orders.filter(start_date__gte=today, start_date__lte=today + timedelta(hours=horizon_hours)).order_by("start_date", "order_id")[:limit]
    )
    filled = filled_counts([*mine, *starting])
    for order in [*mine, *starting]:
        order.filled = filled.get(order.pk, 0)
    awaiting = list(FillProposal.objects.filter(status=ProposalStatus.PROPOSED).select_related("order").order_by("created_at")[:limit])
    return {"my_orders": mine, "mine_only": mine_only, "starting_soon": starting, "awaiting": awaiting}


def worker_proposals(worker_id: str, *, limit: int = 50) -> list[FillProposal]:
    """Proposals naming the worker, newest first (the GIN index on worker_ids)."""
    return list(FillProposal.objects.filter(worker_ids__contains=[worker_id]).select_related("order").order_by("-created_at")[:limit])
