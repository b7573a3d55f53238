"""Writes of the core app: the role groups, users and their API tokens; cancel, retry and reaping of jobs."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from rest_framework.authtoken.models import Token

from apps.core.choices import JobStatus
from apps.core.roles import COORDINATOR_EXTRA_PERMISSIONS, COORDINATORS, OPERATORS, PROJECT_APP_LABELS

logger = logging.getLogger(__name__)


def ensure_role_groups() -> tuple[Group, Group]:
    """Create `coordinators` and `operators` and give them their model permissions (idempotent; run
    after every migrate, when Django has created the permissions)."""
    coordinators, _ = Group.objects.get_or_create(name=COORDINATORS)
    operators, _ = Group.objects.get_or_create(name=OPERATORS)
    ours = Permission.objects.filter(content_type__app_label__in=PROJECT_APP_LABELS)
    operators.permissions.set(ours)
    extra = Q()
    for dotted in COORDINATOR_EXTRA_PERMISSIONS:
        app_label, codename = dotted.split(".")
        extra |= Q(content_type__app_label=app_label, codename=codename)
    coordinators.permissions.set(ours.filter(Q(codename__startswith="view_") | extra))
    return coordinators, operators


@transaction.atomic
def issue_api_token(
    *, username: str, staff: bool = False, coordinator_console: bool = False, password: str | None = None
) -> tuple[object, str]:
    """Create the user if needed, give it its role, make sure it has a token.

    `staff` makes an operator (superuser, console access, `operators` group); otherwise the user is a
    coordinator (`coordinators` group), who may also open the console with `coordinator_console`.
    Returns (user, token key). Re-running is idempotent: the same user keeps the same token. A given
    password is (re)set, so `make run` can print working admin credentials.
    """
    User = get_user_model()
    user, created = User.objects.get_or_create(username=username)
    changed = created
    if staff and not (user.is_staff and user.is_superuser):
        user.is_staff = user.is_superuser = True
        changed = True
    if coordinator_console and not user.is_staff:
        user.is_staff = True
        changed = True
    if password is not None and not user.check_password(password):
        user.set_password(password)
        changed = True
    elif created:
        user.set_unusable_password()
    if changed:
        user.save()
    coordinators, operators = Group.objects.get_or_create(name=COORDINATORS)[0], Group.objects.get_or_create(name=OPERATORS)[0]
    user.groups.add(operators if user.is_superuser else coordinators)
    token, _ = Token.objects.get_or_create(user=user)
    return user, token.key


# ---------------------------------------------------------------------------------------- jobs


def cancel_job(*, kind: str, job_id: Any, actor: str = "") -> Any:
    """SPEC §3.6 cancel rules. Queued (any kind): cancelled now and its task revoked. Running: kinds
    that stop at a batch boundary get `cancel_requested` (the runner ends them `cancelled`); the
    others are a 409 saying why. Finished: a 409."""
    from apps.core.errors import Conflict
    from apps.core.job_kinds import get_job_kind
    from apps.core.jobs import finish_job
    from apps.core.selectors import get_job

    job_kind = get_job_kind(kind)
    job = get_job(kind, job_id)
    model = type(job)
    who = f" by {actor}" if actor else ""
    if job.status == JobStatus.QUEUED:
        if finish_job(model, job.pk, JobStatus.CANCELLED, error=f"cancelled{who} before it started", from_statuses=(JobStatus.QUEUED,)):
            _revoke(job.task_id)
            return get_job(kind, job_id)
        job.refresh_from_db()  # it started meanwhile: apply the running rule
    if job.status == JobStatus.RUNNING:
        if not job_kind.cancel_running:
            raise Conflict(f"A running {kind} job cannot be cancelled: {job_kind.not_cancellable_reason}", code="not_cancellable")
        model.objects.filter(pk=job.pk, status=JobStatus.RUNNING).update(cancel_requested=True)
        return get_job(kind, job_id)
    raise Conflict(f"{kind} job {job.pk} has already ended ({job.status}).", code="job_finished")


def _revoke(task_id: str) -> None:
    """Best effort: the row is already cancelled, and the runner refuses a cancelled row anyway."""
    if not task_id:
        return
    try:
        from lakehouse.celery import app

        app.control.revoke(task_id)
    except Exception as exc:
        logger.warning("could not revoke task %s: %s", task_id, exc)


def retry_job(*, kind: str, job_id: Any, actor: str = "") -> Any:
    """A new job row with the same inputs and `retry_of` pointing at the failed (or cancelled) one,
    launched through the kind's own service (its busy checks apply)."""
    from apps.core.errors import Conflict
    from apps.core.job_kinds import get_job_kind
    from apps.core.selectors import get_job

    job_kind = get_job_kind(kind)
    job = get_job(kind, job_id)
    if job.status not in (JobStatus.FAILED, JobStatus.CANCELLED):
        raise Conflict(f"Only a failed or cancelled job can be retried; {kind} job {job.pk} is {job.status}.", code="not_retryable")
    return job_kind.relaunch(job, actor)


def reap_dead_jobs() -> list[dict[str, Any]]:
    """End every running job whose runner is gone: its advisory lock is free (its process died) or its
    heartbeat is older than JOB_HEARTBEAT_LIMIT_S. Idempotent kinds go back to the queue (within the
    attempt limit); the others fail with the reason. Returns what was done, for logs and tests."""
    from apps.core.job_kinds import all_job_kinds
    from apps.core.jobs import JobLock, finish_job

    stale_before = timezone.now() - timedelta(seconds=settings.JOB_HEARTBEAT_LIMIT_S)
    reaped: list[dict[str, Any]] = []
    for kind in all_job_kinds():
        model = kind.model()
        for job in model.objects.filter(status=JobStatus.RUNNING).only("pk", "heartbeat_at", "started_at", "attempts"):
            lock = JobLock(kind.name, job.pk)
            if not lock.acquire():
                beat = job.heartbeat_at or job.started_at
                if beat is None or beat >= stale_before:
                    continue  # a live runner holds it
            try:
                since = job.heartbeat_at.isoformat(timespec="seconds") if job.heartbeat_at else "never"
                if kind.idempotent and job.attempts < settings.JOB_MAX_ATTEMPTS:
                    action = _requeue(kind, model, job.pk, f"re-queued: its worker was lost (last heartbeat {since})")
                else:
                    finish_job(model, job.pk, JobStatus.FAILED, error=f"worker lost: no heartbeat since {since}", from_statuses=(JobStatus.RUNNING,))
                    action = "failed"
            finally:
                lock.release()
            logger.warning("reaper: %s job %s %s", kind.name, job.pk, action)
            reaped.append({"kind": kind.name, "job_id": job.pk, "action": action})
    return reaped


def _requeue(kind, model, pk: Any, note: str) -> str:
    from apps.core.jobs import finish_job

    if not model.objects.filter(pk=pk, status=JobStatus.RUNNING).update(status=JobStatus.QUEUED, error=note):
        return "skipped"
    try:
        result = kind.task().delay(pk)
    except Exception as exc:
        finish_job(model, pk, JobStatus.FAILED, error=f"worker lost, and re-queueing failed: the broker is unavailable ({exc})", from_statuses=(JobStatus.QUEUED,))
        return "failed"
    model.objects.filter(pk=pk).update(task_id=result.id)
    return "requeued"
