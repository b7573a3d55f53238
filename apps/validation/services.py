"""Validation workflows over the database: look inputs up in bulk, run the pure validators, log.

The validators themselves (email_validator.py here, apps/orders/fill_validator.py) never touch the database; the API,
replay and the load harness reach them through these functions and apps.orders.services.check_fill.
"""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings

from apps.core.detectors import extract_contacts
from apps.core.errors import InvalidInput
from apps.interactions.choices import InteractionKind
from apps.interactions.services import log_interaction
from apps.orders.models import JobOrder
from apps.orders.selectors import order_as_dict
from apps.orders.services import check_fill
from apps.validation.email_validator import EmailValidator
from apps.workers.selectors import worker_rows

_EMAIL_VALIDATOR = EmailValidator()

_WORKER_FIELDS = (
    "worker_id", "first_name", "city", "state", "role", "certifications", "shift_preference",
    "available_from", "status", "sms_opt_out", "phone", "email",
)


def check_outreach(*, kind: str, worker_id: str | None, subject: str | None, body: str) -> dict[str, Any]:
    """EmailValidator over a draft (SPEC §4.4), without logging; one query finds the recipient and
    any worker whose phone or email appears in the text. Replay judges model drafts with this."""
    contacts = extract_contacts(f"{subject or ''}\n{body}")
    rows = worker_rows(_WORKER_FIELDS, worker_ids=[worker_id] if worker_id else [], phones=sorted(contacts["phones"]), emails=sorted(contacts["emails"]))

    recipient: dict[str, Any] | None = None
    if worker_id:
        match = next((row for row in rows if row["worker_id"] == worker_id), None)
        recipient = {"worker_id": worker_id, "found": False} if match is None else {**match, "found": True}
    owners: dict[str, str] = {}
    for row in rows:
        for contact in (row["phone"], row["email"]):
            if contact:
                owners[contact] = row["worker_id"]
    context = {
        "worker_contacts": owners,
        "agency_phones": settings.AGENCY_PHONES,
        "agency_emails": settings.AGENCY_EMAILS,
    }
    return _EMAIL_VALIDATOR.validate(kind, subject, body, recipient, context).to_dict()


def validate_outreach(*, kind: str, worker_id: str | None, subject: str | None, body: str, actor: str = "") -> dict[str, Any]:
    """The API's outreach validation: check_outreach, logged as a validate_email/validate_sms interaction."""
    started = time.perf_counter()
    verdict = check_outreach(kind=kind, worker_id=worker_id, subject=subject, body=body)
    logged = log_interaction(
        kind=InteractionKind.VALIDATE_SMS if kind == "sms" else InteractionKind.VALIDATE_EMAIL,
        actor=actor,
        request={"kind": kind, "worker_id": worker_id, "subject": subject, "body": body},
        response=verdict,
        ok=verdict["ok"],
        errors=verdict["errors"],
        latency_ms=(time.perf_counter() - started) * 1000,
    )
    return {**verdict, "interaction_id": str(logged.pk)}  # what feedback on this verdict names


def validate_fill(
    *, worker_ids: list[str], order_id: str | None = None, order: dict[str, Any] | None = None, actor: str = ""
) -> dict[str, Any]:
    """The API's fill validation, of a stored order (`order_id`) or an inline one. It only validates:
    proposals are made with apps.orders.services.proposal_create. Logged as validate_fill."""
    started = time.perf_counter()
    if order_id is not None:
        job_order = JobOrder.objects.filter(order_id=order_id).first()
        if job_order is None:
            raise InvalidInput(f"No job order {order_id!r}.", fields={"order_id": ["No such order."]})
        order = order_as_dict(job_order)
    assert order is not None
    verdict = check_fill(order=order, worker_ids=worker_ids)
    logged = log_interaction(
        kind=InteractionKind.VALIDATE_FILL,
        actor=actor,
        request={"order_id": order_id, "order": _jsonable(order), "worker_ids": worker_ids},
        response=verdict,
        ok=verdict["ok"],
        errors=verdict["errors"],
        latency_ms=(time.perf_counter() - started) * 1000,
    )
    return {**verdict, "interaction_id": str(logged.pk)}  # what feedback on this verdict names


def _jsonable(order: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in order.items()}
