"""Reads of job orders and the bookings that FillValidator checks for double-booking."""

from __future__ import annotations

from typing import Any, Iterable

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
