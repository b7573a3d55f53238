"""The one job runner (SPEC §3.6), in the spirit of NetBox's JobRunner.

- `enqueue_after_commit(job)`: hand a job row to its Celery task once the row is committed; a broker
  that is down fails the row in the same request and answers 503, so no row is left `queued`.
- `run_job(model, pk, work)`: the body of every job task. It takes the job's advisory lock (a second
  delivery of the same job while the first still runs does nothing), moves the row to `running`,
  beats `heartbeat_at` from a thread while `work` runs, and sets exactly one terminal state.
- `finish_job(...)`: the only write of a terminal state in the code base (the runner, cancel, the
  reaper, a failed enqueue and the lost-worker signal all go through it).

Liveness: a running job's runner holds a PostgreSQL session advisory lock, which PostgreSQL releases
when the runner's process dies; the heartbeat covers runners PostgreSQL cannot see die (a wedged
host). The reaper (apps.core.services.reap_dead_jobs) uses both.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from django.conf import settings
from django.dispatch import Signal
from django.db import InterfaceError, OperationalError, connection, connections, models, transaction
from django.db.models import F
from django.utils import timezone

from apps.core.choices import ACTIVE_STATUSES, TERMINAL_STATUSES, JobStatus
from apps.core.job_kinds import get_job_kind

logger = logging.getLogger(__name__)

# Errors that mean "the database went away", not "the job is wrong": retried for idempotent kinds.
TRANSIENT_DB_ERRORS: tuple[type[BaseException], ...] = (OperationalError, InterfaceError)


class JobCancelled(Exception):
    """Raised by `JobContext.raise_if_cancelled` at a safe point: the runner marks the job cancelled."""


class RetryJob(Exception):
    """The job hit a transient database error and may run again: Celery retries it with backoff."""


@dataclass(frozen=True)
class JobOutcome:
    """What `work` may return to end in something other than `succeeded`."""

    status: str = JobStatus.SUCCEEDED
    error: str = ""
    # Row values to write with the terminal state (a receipt already written with its finished_at).
    fields: dict[str, Any] = field(default_factory=dict)


def job_task_options(*, idempotent: bool) -> dict[str, Any]:
    """Celery options of a job task. Idempotent kinds are acknowledged late and re-run when their
    worker process dies (up to JOB_MAX_RETRIES); the others are acknowledged on receipt and a lost
    worker fails them (apps.core.worker_signals). Every kind retries a start that hit a database
    error, with exponential backoff — nothing has run yet."""
    options: dict[str, Any] = {
        "ignore_result": True,
        "autoretry_for": (RetryJob,),
        "max_retries": settings.JOB_MAX_RETRIES,
        "retry_backoff": 2,
        "retry_backoff_max": 60,
        "retry_jitter": False,
    }
    if idempotent:
        options |= {
            "acks_late": True,
            "reject_on_worker_lost": True,
            "retry_on_worker_lost": True,
            "default_retry_delay": 1,
        }
    return options


# ------------------------------------------------------------------------------------- enqueue


def enqueue_after_commit(job: models.Model) -> None:
    """Send the job's task once the transaction that created the row commits (the worker must be able
    to read it), then record the Celery task id. A broker that is down marks the row failed and
    raises a 503, so the request never leaves a `queued` row behind."""
    from apps.core.errors import DependencyDown

    model, pk = type(job), job.pk
    task = get_job_kind(model.job_kind).task()

    def send() -> None:
        try:
            result = task.delay(pk)
        except Exception as exc:
            finish_job(model, pk, JobStatus.FAILED, error=f"not queued: the broker is unavailable ({exc})")
            raise DependencyDown(f"The task broker (Redis) is unavailable; {model.job_kind} job {pk} was not queued.", code="broker_unavailable") from exc
        model.objects.filter(pk=pk).update(task_id=result.id)

    transaction.on_commit(send)


# ------------------------------------------------------------------------------------ terminal

# Sent once per job, by the write that ended it: sender = the job model, pk, status, error. Listeners
# (apps.alerts) must not fail the caller; they are called with send_robust.
job_finished = Signal()


def finish_job(model: type[models.Model], pk: Any, status: str, *, error: str = "", from_statuses=ACTIVE_STATUSES, **fields: Any) -> bool:
    """Set a terminal state (and `fields`) if the row is still in `from_statuses`; False when it had
    already ended. The only place that writes a terminal state."""
    assert status not in ACTIVE_STATUSES, status
    values = {"status": status, "error": error[:10_000], "finished_at": timezone.now(), **fields}
    if status == JobStatus.SUCCEEDED:
        values.setdefault("progress", 100.0)
    ended = bool(model.objects.filter(pk=pk, status__in=from_statuses).update(**values))
    if ended:  # only the write that ended the job: a job ends, and is announced, once
        for receiver, result in job_finished.send_robust(model, pk=pk, status=status, error=values["error"]):
            if isinstance(result, Exception):
                logger.error("job_finished listener %s failed for %s job %s: %s", receiver, model.job_kind, pk, result)
    return ended


# ------------------------------------------------------------------------------------- locking


class JobLock:
    """A session advisory lock per job: held by the runner for the whole run, released by
    PostgreSQL when the runner's process (or connection) dies — so "is anyone running this?" is
    answered by the database, not by a status column a dead process left behind."""

    def __init__(self, kind: str, pk: Any):
        self.key = f"job:{kind}:{pk}"
        self.held = False

    def acquire(self) -> bool:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(hashtext('lakehouse-job'), hashtext(%s))", [self.key])
            self.held = bool(cursor.fetchone()[0])
        return self.held

    def release(self) -> None:
        if not self.held:
            return
        self.held = False
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(hashtext('lakehouse-job'), hashtext(%s))", [self.key])
        except TRANSIENT_DB_ERRORS:  # the connection is gone, and the lock with it
            pass


# ------------------------------------------------------------------------------------- running


class JobContext:
    """What `work` gets besides its row: cancel checks and progress, at its own safe points."""

    def __init__(self, model: type[models.Model], pk: Any):
        self.model, self.pk = model, pk

    def cancel_requested(self) -> bool:
        return self.model.objects.filter(pk=self.pk, cancel_requested=True).exists()

    def raise_if_cancelled(self) -> None:
        if self.cancel_requested():
            raise JobCancelled()

    def set_progress(self, percent: float) -> None:
        self.model.objects.filter(pk=self.pk).update(progress=round(min(100.0, max(0.0, percent)), 2))


class _Heartbeat(threading.Thread):
    """Beats `heartbeat_at` every JOB_HEARTBEAT_S while the job works (its own database connection),
    so a job busy in one long statement (an HNSW build) still looks alive."""

    def __init__(self, model: type[models.Model], pk: Any):
        super().__init__(name=f"heartbeat-{model.job_kind}-{pk}", daemon=True)
        self.model, self.pk = model, pk
        self._stop_event = threading.Event()

    def run(self) -> None:
        try:
            while not self._stop_event.wait(settings.JOB_HEARTBEAT_S):
                try:
                    self.model.objects.filter(pk=self.pk, status=JobStatus.RUNNING).update(heartbeat_at=timezone.now())
                except Exception as exc:  # a missed beat is not fatal; the next one may succeed
                    logger.warning("heartbeat of %s job %s failed: %s", self.model.job_kind, self.pk, exc)
                    connections["default"].close_if_unusable_or_obsolete()
        finally:
            connections.close_all()

    def stop(self) -> None:
        self._stop_event.set()
        self.join(timeout=10)


def _claim(model: type[models.Model], pk: Any) -> bool:
    now = timezone.now()
    return bool(
        model.objects.filter(pk=pk, status__in=ACTIVE_STATUSES).update(
            status=JobStatus.RUNNING, started_at=now, heartbeat_at=now, finished_at=None, error="", attempts=F("attempts") + 1
        )
    )


def run_job(model: type[models.Model], pk: Any, work: Callable[[Any, JobContext], JobOutcome | None]) -> Any:
    """Run one job: claim it, beat, call `work(job, context)`, set its terminal state. Safe to call for
    a job that already ended (returns it) or that another live runner holds (returns at once)."""
    kind = get_job_kind(model.job_kind)
    lock = JobLock(kind.name, pk)
    try:
        if not lock.acquire():
            logger.info("%s job %s is held by a live runner; this delivery does nothing", kind.name, pk)
            return model.objects.get(pk=pk)
        if not _claim(model, pk):
            return model.objects.get(pk=pk)
        job = model.objects.get(pk=pk)
    except TRANSIENT_DB_ERRORS as exc:  # nothing has run yet: safe to try again for every kind
        lock.release()
        connection.close_if_unusable_or_obsolete()
        raise RetryJob(f"could not start {kind.name} job {pk}: {exc}") from exc

    try:
        if job.attempts > settings.JOB_MAX_ATTEMPTS:
            finish_job(model, pk, JobStatus.FAILED, error=f"gave up after {job.attempts - 1} attempts (each ended with a lost worker or a database error)")
            return model.objects.get(pk=pk)
        heartbeat = _Heartbeat(model, pk)
        heartbeat.start()
        try:
            outcome = work(job, JobContext(model, pk)) or JobOutcome()
        except JobCancelled:
            finish_job(model, pk, JobStatus.CANCELLED, error="cancelled while running; work done before the cancel is kept")
        except TRANSIENT_DB_ERRORS as exc:
            logger.warning("%s job %s hit a database error: %s", kind.name, pk, exc)
            connection.close_if_unusable_or_obsolete()
            message = f"{type(exc).__name__}: {exc}"
            if kind.idempotent and job.attempts < settings.JOB_MAX_ATTEMPTS:
                try:
                    model.objects.filter(pk=pk, status=JobStatus.RUNNING).update(status=JobStatus.QUEUED, error=f"retrying after a database error: {message}")
                except Exception:  # still down: the retried task's claim accepts a `running` row too
                    connection.close_if_unusable_or_obsolete()
                raise RetryJob(message) from exc
            _finish_best_effort(model, pk, JobStatus.FAILED, message)
        except Exception as exc:
            logger.exception("%s job %s failed", kind.name, pk)
            _finish_best_effort(model, pk, JobStatus.FAILED, f"{type(exc).__name__}: {exc}")
        else:
            finish_job(model, pk, outcome.status, error=outcome.error, **outcome.fields)
        finally:
            heartbeat.stop()
    finally:
        lock.release()
    return model.objects.get(pk=pk)


def _finish_best_effort(model: type[models.Model], pk: Any, status: str, error: str) -> None:
    try:
        finish_job(model, pk, status, error=error)
    except TRANSIENT_DB_ERRORS:  # the database is down: the reaper ends the row when it is back
        connection.close_if_unusable_or_obsolete()
        logger.error("could not record the end of %s job %s (%s)", model.job_kind, pk, error)


def follow_job(job: Any, *, on_poll: Callable[[Any], None] | None = None, interval_s: float = 0.5) -> Any:
    """Block until a queued job's row reaches a terminal state, re-reading it every `interval_s`: how a
    management command waits for the worker that runs its job. `on_poll` sees each fresh row (a
    progress bar)."""
    while job.status not in TERMINAL_STATUSES:
        time.sleep(interval_s)
        job.refresh_from_db()
        if on_poll is not None:
            on_poll(job)
    return job
