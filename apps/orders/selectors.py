"""Reads of job orders, clients, do-not-assign lists and the bookings that FillValidator checks for
double-booking."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Iterable

from django.db import connection
from django.db.models import Q, QuerySet
from django.utils import timezone

from apps.interactions.choices import DECISION_KINDS, InteractionKind
from apps.interactions.models import Interaction
from apps.interactions.selectors import interactions_about
from apps.orders.choices import SEAT_FREEING_REASONS, AssignmentEndReason, OrderStatus, ProposalStatus, client_key
from apps.orders.models import AssignmentEnd, Client, DoNotAssign, FillProposal, JobOrder
from apps.workers.models import Worker
from apps.workers.vocabulary import role_title


def order_as_dict(order: JobOrder) -> dict[str, Any]:
    return {
        "order_id": order.order_id,
        "client": order.client.name,
        "city": order.city,
        "state": order.state,
        "role": order.role,
        "headcount": order.headcount,
        "shift": order.shift,
        "start_date": order.start_date,
        "end_date": order.end_date,
        "required_certifications": list(order.required_certifications),
    }


# Accepted proposals of live orders that share a worker with the ids given; plain SQL because it is on
# every fill validation's path, where the ORM's select_related query cost ~0.5 ms of Python to build.
_BOOKINGS_SQL = f"""
SELECT p.order_id, o.order_id, p.worker_ids, o.start_date, o.end_date
FROM {FillProposal._meta.db_table} p JOIN {JobOrder._meta.db_table} o ON o.id = p.order_id
WHERE p.status = %s AND o.status = ANY(%s) AND p.worker_ids && %s::varchar[] AND o.order_id <> %s
ORDER BY p.id
"""


def bookings_for(worker_ids: Iterable[str], *, exclude_order_id: str | None = None) -> list[dict[str, Any]]:
    """Accepted fills of other live (open or filled) orders that involve any of these workers (one
    query). A cancelled order, or a rejected proposal, books no one."""
    worker_ids = list(worker_ids)
    with connection.cursor() as cursor:
        cursor.execute(
            _BOOKINGS_SQL, [ProposalStatus.ACCEPTED, [OrderStatus.OPEN, OrderStatus.FILLED], worker_ids, exclude_order_id or ""]
        )
        proposals = cursor.fetchall()
    # An ended assignment books no one (SPEC §4.8a step 5): current assignments only.
    ended = set(
        AssignmentEnd.objects.filter(order_id__in={row[0] for row in proposals}, worker_id__in=worker_ids).values_list("order_id", "worker_id")
    ) if proposals else set()
    return [
        {
            "order_id": order_id,
            "worker_ids": [w for w in booked if (pk, w) not in ended],
            "start_date": start_date,
            "end_date": end_date,
        }
        for pk, order_id, booked, start_date, end_date in proposals
    ]


def accepted_worker_ids(order: JobOrder) -> set[str]:
    """Every worker ever accepted for this order (ended assignments included: nobody is proposed twice)."""
    rows = FillProposal.objects.filter(order=order, status=ProposalStatus.ACCEPTED).values_list("worker_ids", flat=True)
    return {worker_id for worker_ids in rows for worker_id in worker_ids}


def ended_worker_ids(order: JobOrder, *, seat_freeing_only: bool = False) -> set[str]:
    ends = AssignmentEnd.objects.filter(order=order)
    if seat_freeing_only:
        ends = ends.filter(reason__in=SEAT_FREEING_REASONS)
    return set(ends.values_list("worker_id", flat=True))


def seated_worker_ids(order: JobOrder) -> set[str]:
    """The workers holding the order's seats: accepted, minus those who did not show or declined."""
    return accepted_worker_ids(order) - ended_worker_ids(order, seat_freeing_only=True)


def proposed_worker_ids(order: JobOrder) -> set[str]:
    rows = FillProposal.objects.filter(order=order, status=ProposalStatus.PROPOSED).values_list("worker_ids", flat=True)
    return {worker_id for worker_ids in rows for worker_id in worker_ids}


# Clients and do-not-assign ---------------------------------------------------------------------------


def client_named(name: str | None) -> Client | None:
    """The client a name means, whatever its case and spacing."""
    key = client_key(name or "")
    return Client.objects.filter(key=key).first() if key else None


def banned_workers(client: str | None, worker_ids: Iterable[str] | None = None) -> dict[str, str]:
    """worker_id → reason for the workers on the named client's do-not-assign list (all of them, or
    only those among `worker_ids`). An unknown or empty client bans no one."""
    key = client_key(client or "")
    if not key:
        return {}
    entries = DoNotAssign.objects.filter(client__key=key)
    if worker_ids is not None:
        entries = entries.filter(worker_id__in=list(worker_ids))
    return dict(entries.values_list("worker_id", "reason"))


def do_not_assign_list(*, client: str | None = None, worker_id: str | None = None):
    entries = DoNotAssign.objects.select_related("client").order_by("-created_at", "-id")
    if client:
        entries = entries.filter(client__key=client_key(client))
    if worker_id:
        entries = entries.filter(worker_id=worker_id)
    return entries


def proposal_list(order: JobOrder):
    return order.proposals.select_related("order").order_by("-created_at")


def order_list():
    return JobOrder.objects.select_related("client").order_by("-created_at")


def booked_worker_ids(*, start_date, end_date, exclude_order_id: str | None = None) -> set[str]:
    """Workers with a current assignment on another live order overlapping these dates (one query for
    the proposals, one for their ended assignments): the double-booked, for a search to leave out."""
    end_date = end_date or start_date
    proposals = FillProposal.objects.filter(
        status=ProposalStatus.ACCEPTED,
        order__status__in=[OrderStatus.OPEN, OrderStatus.FILLED],
        order__start_date__lte=end_date,
    ).filter(Q(order__end_date__gte=start_date) | Q(order__end_date__isnull=True, order__start_date__gte=start_date))
    if exclude_order_id:
        proposals = proposals.exclude(order__order_id=exclude_order_id)
    rows = list(proposals.values_list("order_id", "worker_ids"))
    ended = set(AssignmentEnd.objects.filter(order_id__in={o for o, _ in rows}).values_list("order_id", "worker_id")) if rows else set()
    return {w for order_pk, ids in rows for w in ids if (order_pk, w) not in ended}


def order_query(order: JobOrder) -> str:
    """The order in words: the query its candidate search and its playbook record embed."""
    # The role's running-text wording (not the console's capitalised label): playbooks recorded before
    # and after embed the same words, so their similarity to a new order's query stays comparable.
    return f"{order.headcount} {role_title(order.role)} in {order.city}, {order.state} ({order.shift} shift)"


def filled_counts(orders: Iterable[JobOrder]) -> dict[int, int]:
    """order pk → workers holding its seats (`seated_worker_ids` for many orders at once: accepted,
    minus no-shows and declines; two queries for all the orders)."""
    pks = [order.pk for order in orders]
    seated: dict[int, set[str]] = {}
    for order_pk, worker_ids in FillProposal.objects.filter(order__in=pks, status=ProposalStatus.ACCEPTED).values_list("order_id", "worker_ids"):
        seated.setdefault(order_pk, set()).update(worker_ids)
    for order_pk, worker_id in AssignmentEnd.objects.filter(order__in=pks, reason__in=SEAT_FREEING_REASONS).values_list("order_id", "worker_id"):
        seated.get(order_pk, set()).discard(worker_id)
    return {pk: len(ids) for pk, ids in seated.items()}


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


def order_history(order_id: str) -> QuerySet[Interaction]:
    """The decisions on an order, newest first: its audit trail (SPEC §4.8a step 6), one interaction
    per proposal created, accepted or rejected, cancellation and ended assignment."""
    return interactions_about(order_id=order_id).filter(kind__in=DECISION_KINDS)


def assignment_end_notes(order_id: str) -> dict[str, str]:
    """worker_id → the note given when their assignment on the order ended (kept in the order's
    history, the audit row the end wrote); only the ends that had a note."""
    ends = order_history(order_id).filter(kind=InteractionKind.ASSIGNMENT_ENDED).values_list("worker_ids", "request")
    return {worker_ids[0]: request["note"] for worker_ids, request in ends if worker_ids and request.get("note")}


def order_history_rows(order_id: str, *, limit: int = 100) -> dict[str, Any]:
    """The newest `limit` decisions on an order as a person reads them (the order's console page):
    what changed in words, why, and each named worker with the pk of its page (one query for all)."""
    decisions = list(order_history(order_id)[: limit + 1])
    named = {w for decision in decisions for w in decision.worker_ids}
    pages = dict(Worker.objects.filter(worker_id__in=named).values_list("worker_id", "pk"))
    rows = []
    for decision in decisions[:limit]:
        request, response = decision.request, decision.response
        status = (response.get("previous_status"), response.get("new_status"))
        order_status = (response.get("order_previous_status"), response.get("order_new_status"))
        change = [f"{status[0] or '—'} → {status[1] or '—'}"]
        if order_status[0] != order_status[1] and order_status != status:  # a cancellation's two are one change
            change.append(f"order {order_status[0]} → {order_status[1]}")
        reason = request.get("reason")
        reason = AssignmentEndReason(reason).label if reason in AssignmentEndReason.values else reason
        rows.append({
            "decision": decision,
            "label": decision.get_kind_display(),
            "proposal_id": request.get("proposal_id"),
            "change": "; ".join(change),
            "workers": [(w, pages.get(w)) for w in decision.worker_ids],
            "why": " — ".join(part for part in (reason, request.get("note")) if part),
        })
    return {"history": rows, "history_truncated": len(decisions) > limit}
