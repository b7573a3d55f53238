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
    """Accepted fills of other open orders that involve any of these workers (one query)."""
    proposals = (
        FillProposal.objects.filter(
            status=ProposalStatus.ACCEPTED, order__status=OrderStatus.OPEN, worker_ids__overlap=list(worker_ids)
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


def order_list():
    return JobOrder.objects.all().order_by("-created_at")
