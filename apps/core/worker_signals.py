"""Celery signal handlers that keep job rows true when a worker process dies (SPEC §3.6).

- task_failure in the worker's main process: a task that failed outside the runner (its pool process
  was killed and it is not re-run, a hard time limit, retries used up) fails its job row with why.
- worker_ready: a worker that starts reaps the jobs a dead worker left `running`.
"""

from __future__ import annotations

import logging

from billiard.exceptions import WorkerLostError
from celery.signals import task_failure, worker_ready
from django.db import connections

logger = logging.getLogger(__name__)


@task_failure.connect
def fail_job_of_failed_task(sender=None, task_id=None, exception=None, args=None, **kwargs) -> None:
    from apps.core.choices import JobStatus
    from apps.core.job_kinds import kind_of_task
    from apps.core.jobs import finish_job

    kind = kind_of_task(getattr(sender, "name", ""))
    if kind is None or not args:
        return
    if isinstance(exception, WorkerLostError):
        error = f"worker lost: {exception}"
    else:
        error = f"{type(exception).__name__}: {exception}"
    try:
        finish_job(kind.model(), args[0], JobStatus.FAILED, error=error)
    except Exception as exc:  # the database is down: the reaper ends the row when it is back
        logger.error("could not fail %s job %s after %s: %s", kind.name, args[0], error, exc)
    finally:
        # The worker's main process forks new pool processes: it must not keep a connection open.
        connections.close_all()


@worker_ready.connect
def reap_at_worker_start(sender=None, **kwargs) -> None:
    from apps.core.services import reap_dead_jobs

    try:
        reaped = reap_dead_jobs()
        if reaped:
            logger.warning("reaped %d job(s) left by a dead worker: %s", len(reaped), reaped)
    except Exception as exc:
        logger.error("reaper at worker start failed: %s", exc)
    finally:
        connections.close_all()
