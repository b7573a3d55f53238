"""Handing a job row to the Celery worker — the one way every long job (ingest, index rebuild and
re-embed, materialize, replay) is dispatched."""

from __future__ import annotations

from django.db import models, transaction


def enqueue_after_commit(task, job_model: type[models.Model], job_pk) -> None:
    """Send `task(job_pk)` once the transaction that created the job row commits (the worker must be
    able to read it), then record the Celery task id on the row."""

    def send() -> None:
        result = task.delay(job_pk)
        job_model.objects.filter(pk=job_pk).update(task_id=result.id)

    transaction.on_commit(send)
