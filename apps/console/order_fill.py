"""The "Fill this order" page (SPEC §4.8a, §6), at /admin/orders/joborder/<id>/fill/: find candidates
with why they rank, check and propose, accept or reject, validate outreach, end an assignment and
propose a backfill. Every step calls the same service as the API; a refusal is a message or an inline
verdict. It composes search, validation and playbooks, which sit above orders, so it lives here and
hangs on the order's admin page through `register_record_view` (see `ConsoleConfig.ready`)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.utils import quote
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html_join

from apps.core.admin_display import highlighted_text, link_to, status_badge
from apps.core.errors import DomainError, InvalidInput
from apps.orders import services
from apps.orders.choices import SEAT_FREEING_REASONS, AssignmentEndReason, OrderStatus, ProposalStatus
from apps.orders.models import AssignmentEnd, FillProposal, JobOrder
from apps.orders.selectors import assignment_end_notes, order_query, proposed_worker_ids, seated_worker_ids
from apps.playbooks.models import Playbook
from apps.search.services import backfill_candidates, order_candidates
from apps.validation.services import validate_outreach
from apps.workers.models import Worker
from apps.workers.vocabulary import role_title

MAX_CANDIDATES = 50
NOTE_MAX_CHARS = 2000  # the API's bound on a decision's note

# Who may do what on the page: the same permissions the order's other admin pages check.
PROPOSE = "orders.add_fillproposal"
DECIDE = "orders.change_fillproposal"
END_ASSIGNMENT = "orders.add_assignmentend"
CANCEL_ORDER = "orders.change_joborder"  # operators change and cancel orders (SPEC §5)


def fill_view(request: HttpRequest, order: JobOrder, model_admin: admin.ModelAdmin) -> TemplateResponse | HttpResponseRedirect:
    here = reverse("admin:orders_joborder_fill", args=[quote(order.pk)])
    actor = request.user.get_username()
    params = request.POST if request.method == "POST" else request.GET
    search = {
        "q": params.get("q", "").strip(),
        "k": _bounded_int(params.get("k"), default=10, low=1, high=MAX_CANDIDATES),
        # A submitted search form sends `searched`; an unticked box is then absent.
        "use_playbook": bool(params.get("use_playbook")) if params.get("searched") else True,
    }
    action = request.POST.get("action", "") if request.method == "POST" else ""
    selected = request.POST.getlist("worker_ids") if action in ("check", "propose") else []
    verdict: dict[str, Any] | None = None
    outreach: dict[str, Any] | None = None

    if action in ("check", "propose"):
        _require(request, PROPOSE)
        if action == "check":
            verdict = services.proposal_check(order_id=order.order_id, worker_ids=selected)
        else:
            try:
                proposal = services.proposal_create(order_id=order.order_id, worker_ids=selected, actor=actor)
            except InvalidInput as exc:
                verdict = {"ok": False, "errors": exc.fields.get("worker_ids", [])}
            except DomainError as exc:
                model_admin.message_user(request, str(exc), messages.ERROR)
            else:
                model_admin.message_user(request, f"Proposed {', '.join(proposal.worker_ids)} for {order.order_id} (proposal {proposal.pk}).", messages.SUCCESS)
                return HttpResponseRedirect(f"{here}#proposals")
    elif action in ("accept", "reject"):
        _require(request, DECIDE)
        decide = services.proposal_accept if action == "accept" else services.proposal_reject
        proposal_id = _bounded_int(request.POST.get("proposal_id"), default=0, low=0, high=2**31 - 1)
        try:
            decided = decide(order_id=order.order_id, proposal_id=proposal_id, actor=actor, note=_note(request))
        except DomainError as exc:
            model_admin.message_user(request, str(exc), messages.ERROR)
        else:
            order.refresh_from_db()
            recorded = " The fill is recorded in the playbook memory." if action == "accept" else ""
            model_admin.message_user(request, f"Proposal {decided.pk} {decided.status}; {order.order_id} is {order.status}.{recorded}", messages.SUCCESS)
        return HttpResponseRedirect(f"{here}#proposals")
    elif action == "cancel_order":
        _require(request, CANCEL_ORDER)
        try:
            services.order_cancel(order_id=order.order_id, actor=actor, note=_note(request))
        except DomainError as exc:
            model_admin.message_user(request, str(exc), messages.ERROR)
        else:
            model_admin.message_user(request, f"{order.order_id} cancelled; its open proposals were rejected and its workers are free.", messages.SUCCESS)
        return HttpResponseRedirect(here)
    elif action == "end_assignment":
        _require(request, END_ASSIGNMENT)
        return _end_assignment(request, order, model_admin, here=here, actor=actor)
    elif action == "outreach":
        outreach = _outreach(request, actor)

    seated = seated_worker_ids(order)
    open_seats = max(order.headcount - len(seated), 0)
    freed = list(order.assignment_ends.filter(reason__in=SEAT_FREEING_REASONS).order_by("-ended_at"))
    # After a no-show or a decline the page offers replacements without being asked, until proposals
    # cover the empty seats; the coordinator's own search replaces them.
    backfill = (
        order.status == OrderStatus.OPEN and bool(freed) and not params.get("searched")
        and (params.get("mode") == "backfill" or open_seats > len(proposed_worker_ids(order)))
    )
    candidates = None
    if backfill:
        results = backfill_candidates(order.order_id, k=search["k"], explain=True)
        candidates = _candidate_rows(results, verdict)
        search["took_ms"], search["playbooks_used"] = None, []
    elif order.status == OrderStatus.OPEN and (params.get("searched") or action in ("check", "propose")):
        body = order_candidates(order, query=search["q"], k=search["k"], use_playbook=search["use_playbook"], actor=actor)
        candidates = _candidate_rows(body["results"], verdict)
        search["took_ms"], search["playbooks_used"] = body["took_ms"], body["playbooks_used"]

    proposals = list(order.proposals.order_by("-created_at"))
    ends = {end.worker_id: end for end in order.assignment_ends.all()}
    notes = assignment_end_notes(order.order_id) if ends else {}
    named = {w for p in proposals for w in p.worker_ids}
    workers = {w.worker_id: w for w in Worker.objects.filter(worker_id__in=named).only("pk", "worker_id", "first_name", "last_name", "sms_opt_out", "status")}
    closed = services.order_closed_reason(order)
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.model._meta,
        "original": order,
        "order": order,
        "closed_reason": closed,
        "role_title": role_title(order.role),
        "title": f"Fill {order.order_id}",
        "subtitle": None,
        "order_table": _order_facts(order, seated=len(seated)),
        "open_seats": open_seats,
        "search": search,
        "default_query": order_query(order),
        "candidates": candidates,
        "backfill": backfill,
        "freed": [{"end": end, "worker": workers.get(end.worker_id), "note": notes.get(end.worker_id, "")} for end in freed],
        "selected": set(selected),
        "verdict": verdict,
        "verdict_rows": list((verdict or {}).get("errors", [])),
        "proposals": [_proposal_row(p, workers) for p in proposals],
        "assignments": _assignment_rows(proposals, workers, ends, notes),
        "end_reasons": AssignmentEndReason.choices,
        "note_max": NOTE_MAX_CHARS,
        # A closed order reaches nobody: its workers were freed.
        "outreach_workers": [] if closed else [
            workers.get(w) or w for p in proposals if p.status != ProposalStatus.REJECTED for w in p.worker_ids if w not in ends
        ],
        "outreach": outreach,
        "playbooks": list(Playbook.objects.filter(order=order).order_by("-created_at").only("pk", "outcome", "query", "created_by", "created_at")[:20]),
        "can_propose": request.user.has_perm(PROPOSE) and not closed,
        "can_decide": request.user.has_perm(DECIDE) and not closed,
        "can_end": request.user.has_perm(END_ASSIGNMENT) and not closed,
        "can_cancel": request.user.has_perm(CANCEL_ORDER) and not closed,
    }
    return TemplateResponse(request, "console/order_fill.html", context)


def _end_assignment(request: HttpRequest, order: JobOrder, model_admin: admin.ModelAdmin, *, here: str, actor: str) -> HttpResponseRedirect:
    """End one accepted worker's assignment; a no-show or decline reopens the order, and the page then
    lands on the backfill candidates."""
    worker_id = request.POST.get("worker_id", "")
    try:
        ended = services.assignment_end(
            order_id=order.order_id, worker_id=worker_id, reason=request.POST.get("reason", ""), note=_note(request), actor=actor
        )
    except InvalidInput as exc:
        model_admin.message_user(request, f"{exc} {' '.join(m for ms in exc.fields.values() for m in ms)}".strip(), messages.ERROR)
        return HttpResponseRedirect(f"{here}#assignments")
    except DomainError as exc:
        model_admin.message_user(request, str(exc), messages.ERROR)
        return HttpResponseRedirect(f"{here}#assignments")
    order.refresh_from_db()
    reason = ended.get_reason_display()
    if ended.reason in SEAT_FREEING_REASONS:
        model_admin.message_user(
            request, f"Ended {worker_id}'s assignment ({reason}); {order.order_id} is {order.status}. Backfill candidates are below.", messages.SUCCESS
        )
        return HttpResponseRedirect(f"{here}#candidates")
    model_admin.message_user(request, f"Ended {worker_id}'s assignment ({reason}); the seat stays taken.", messages.SUCCESS)
    return HttpResponseRedirect(f"{here}#assignments")


def _note(request: HttpRequest) -> str:
    """A decision's optional note, as the API bounds it; it lands in the order's history."""
    return request.POST.get("note", "").strip()[:NOTE_MAX_CHARS]


def _require(request: HttpRequest, permission: str) -> None:
    if not request.user.has_perm(permission):
        raise PermissionDenied


def _bounded_int(value: Any, *, default: int, low: int, high: int) -> int:
    try:
        return max(low, min(high, int(value)))
    except (TypeError, ValueError):
        return default


def _order_facts(order: JobOrder, *, seated: int) -> list[tuple[str, Any]]:
    certifications = ", ".join(order.required_certifications) or "—"
    dates = f"{order.start_date}" + (f" → {order.end_date}" if order.end_date else "")
    return [
        ("client", order.client), ("role", order.get_role_display()), ("where", f"{order.city}, {order.state} {order.site_zip}".strip()),
        ("shift", order.shift), ("dates", dates), ("certifications", certifications),
        ("filled", f"{seated} of {order.headcount}"), ("status", status_badge(order.status)),
    ]


def _candidate_rows(results: list[dict[str, Any]], verdict: dict[str, Any] | None) -> list[dict[str, Any]]:
    """Search results as the candidate table shows them, with any verdict errors of each worker."""
    problems: dict[str, list[dict[str, Any]]] = {}
    for error in (verdict or {}).get("errors", []):
        problems.setdefault(error.get("worker_id") or "", []).append(error)
    pks = dict(Worker.objects.filter(worker_id__in=[r["worker_id"] for r in results]).values_list("worker_id", "pk"))
    rows = []
    for rank, result in enumerate(results, start=1):
        worker, explain = result["worker"], result.get("explain") or {}
        rows.append({
            "rank": rank,
            "worker_id": result["worker_id"],
            "url": reverse("admin:workers_worker_change", args=[pks[result["worker_id"]]]) if result["worker_id"] in pks else None,
            "name": f"{worker.get('first_name', '')} {worker.get('last_name', '')}".strip(),
            "worker": worker,
            "score": result["score"],
            "explain": explain,
            "problems": problems.get(result["worker_id"], []),
        })
    return rows


def _proposal_row(proposal: FillProposal, workers: dict[str, Worker]) -> dict[str, Any]:
    links = format_html_join(", ", "{}", ((link_to(workers[w], w) if w in workers else w,) for w in proposal.worker_ids))
    return {"proposal": proposal, "workers": links, "status": status_badge(proposal.status)}


def _assignment_rows(
    proposals: list[FillProposal], workers: dict[str, Worker], ends: dict[str, AssignmentEnd], notes: dict[str, str]
) -> list[dict[str, Any]]:
    """Every accepted worker, oldest acceptance first: still assigned, or how it ended and why."""
    rows = []
    for proposal in sorted((p for p in proposals if p.status == ProposalStatus.ACCEPTED), key=lambda p: p.decided_at or p.created_at):
        for worker_id in proposal.worker_ids:
            worker = workers.get(worker_id)
            rows.append({
                "worker_id": worker_id,
                "worker": link_to(worker, worker_id) if worker else worker_id,
                "name": f"{worker.first_name} {worker.last_name}" if worker else "",
                "proposal": proposal,
                "end": ends.get(worker_id),
                "note": notes.get(worker_id, ""),
            })
    return rows


def _outreach(request: HttpRequest, actor: str) -> dict[str, Any]:
    """Validate a draft with the API's service (logged like the API's), and show its spans marked."""
    kind = "sms" if request.POST.get("kind") == "sms" else "email"
    draft = {
        "kind": kind,
        "worker_id": request.POST.get("worker_id") or None,
        "subject": (request.POST.get("subject") or None) if kind == "email" else None,
        "body": request.POST.get("body", ""),
    }
    verdict = validate_outreach(actor=actor, **draft)
    return {**draft, "verdict": verdict, "marked": highlighted_text(draft["body"], verdict["errors"] + verdict.get("warnings", []))}
