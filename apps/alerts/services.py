"""Alerts to staff (issue 20): a failed job, or a replay batch with regressions.

Raised from the job runner's terminal write (`on_job_finished`, connected in AlertsConfig.ready).
Each alert is recorded once, under a unique key per job or batch, and only the call that inserted the
row delivers it — so a terminal state reached twice (a redelivered task, a retried runner, two
processes) alerts once. Delivery is Django's email (console backend by default, SMTP by settings) and,
when ALERT_WEBHOOK_URL is set, a JSON POST retried on transient failures. Delivery never raises: a job
that failed must not fail differently because its alert could not be sent; the row says what happened.
"""

from __future__ import annotations

import logging
from typing import Any

import httpx
from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction

from apps.alerts.choices import AlertKind, Delivery
from apps.alerts.models import Alert
from apps.core.choices import JobStatus
from apps.providers.errors import ProviderError, ProviderResponseError
from apps.providers.http import post_json

logger = logging.getLogger(__name__)


def notify_job_failed(kind: str, job_id: Any, error: str) -> Alert | None:
    """Alert that a job (`kind`: ingest, index, materialize, replay, …) ended `failed`."""
    return _raise_alert(
        key=f"job_failed:{kind}:{job_id}",
        kind=AlertKind.JOB_FAILED,
        subject=f"[lakehouse] {kind} job {job_id} failed",
        body=f"The {kind} job {job_id} failed.\n\nError: {error or '(no message)'}",
        payload={"event": "job_failed", "kind": kind, "job_id": str(job_id), "error": error},
    )


def notify_regressions(batch_id: str, count: int) -> Alert | None:
    """Alert that a finished replay batch found regressions (a run that passed before fails now)."""
    if count <= 0:
        return None
    return _raise_alert(
        key=f"replay_regressions:{batch_id}",
        kind=AlertKind.REPLAY_REGRESSIONS,
        subject=f"[lakehouse] replay batch {batch_id}: {count} regression(s)",
        body=f"Replay batch {batch_id} finished with {count} regression(s): evidence that passed before fails now.",
        payload={"event": "replay_regressions", "batch_id": batch_id, "regressions": count},
    )


def on_job_finished(sender, *, pk: Any, status: str, error: str, **kwargs: Any) -> None:
    """The job runner's terminal write (apps.core.jobs.finish_job, the one place any job kind ends —
    the runner, cancel, the reaper, a failed enqueue) → a failed job's alert, or a finished replay
    batch's regressions alert."""
    if status == JobStatus.FAILED:
        notify_job_failed(sender.job_kind, pk, error)
    elif status == JobStatus.SUCCEEDED and sender.job_kind == "replay":
        notify_regressions(str(pk), sender.objects.filter(pk=pk).values_list("regressions", flat=True).first() or 0)


def _raise_alert(*, key: str, kind: str, subject: str, body: str, payload: dict[str, Any]) -> Alert | None:
    """Insert the alert's row; the inserter (only) delivers it once the surrounding transaction commits.
    None when the alert was already raised."""
    try:
        with transaction.atomic():
            alert = Alert.objects.create(key=key, kind=kind, subject=subject[:300], body=body)
    except IntegrityError:
        return None
    transaction.on_commit(lambda: deliver(alert.pk, payload))
    return alert


def deliver(alert_id: int, payload: dict[str, Any]) -> None:
    alert = Alert.objects.get(pk=alert_id)
    problems: list[str] = []
    alert.email = _send_email(alert, problems)
    alert.webhook, alert.webhook_attempts = _post_webhook(alert, payload, problems)
    alert.delivery_error = "; ".join(problems)[:4000]
    alert.save(update_fields=["email", "webhook", "webhook_attempts", "delivery_error"])


def _send_email(alert: Alert, problems: list[str]) -> str:
    recipients = list(settings.ALERT_EMAILS)
    if not recipients:
        return Delivery.OFF
    try:
        send_mail(alert.subject, alert.body, settings.ALERT_FROM_EMAIL, recipients, fail_silently=False)
    except Exception as exc:  # SMTP down or misconfigured: recorded, never raised into the job
        logger.warning("alert %s: email not sent", alert.key, exc_info=True)
        problems.append(f"email: {type(exc).__name__}: {exc}")
        return Delivery.FAILED
    return Delivery.SENT


def _post_webhook(alert: Alert, payload: dict[str, Any], problems: list[str]) -> tuple[str, int]:
    url = settings.ALERT_WEBHOOK_URL
    if not url:
        return Delivery.OFF, 0
    body = {**payload, "alert_id": alert.pk, "subject": alert.subject, "text": alert.body}
    attempts: list[object] = []  # counted by the client itself: post_json reports attempts only for JSON answers
    try:
        with httpx.Client(timeout=settings.ALERT_WEBHOOK_TIMEOUT_S, event_hooks={"request": [attempts.append]}) as client:
            post_json(client, url, body, retries=settings.ALERT_WEBHOOK_RETRIES, backoff_s=settings.ALERT_WEBHOOK_BACKOFF_S)
    except ProviderResponseError:
        pass  # a 2xx whose body is not JSON: received all the same (webhooks often answer "ok")
    except ProviderError as exc:
        logger.warning("alert %s: webhook not delivered: %s", alert.key, exc)
        problems.append(f"webhook: {exc}")
        return Delivery.FAILED, len(attempts)
    return Delivery.SENT, len(attempts)
