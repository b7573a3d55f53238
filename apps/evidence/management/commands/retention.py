"""`manage.py retention [--sync]`: one retention run (apps.evidence.retention), through the Celery
worker like any job (or in this process with --sync), then its counts."""

from __future__ import annotations


from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.core.choices import JobStatus
from apps.core.errors import DomainError
from apps.core.jobs import follow_job
from apps.evidence import retention
from apps.evidence.models import RetentionRun


class Command(BaseCommand):
    help = (
        "Delete interactions older than INTERACTION_RETENTION_DAYS that have their evidence record, and archive "
        "playbooks older than PLAYBOOK_ARCHIVE_AFTER_DAYS (a `retention` job)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--sync", action="store_true", help="run in this process instead of the Celery worker")

    def handle(self, *args, sync: bool, **options) -> None:
        try:
            if sync:
                run = retention.apply_retention(actor="manage.py")
            else:
                run = retention.start_retention_run(actor="manage.py")
                self.stdout.write(f"retention run {run.pk} queued (task {run.task_id or '-'})")
                run = follow_job(run)
        except DomainError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(
            f"retention run {run.pk} {run.status}: {run.interactions_deleted} interactions deleted "
            f"(occurred before {run.interaction_cutoff:%Y-%m-%d %H:%M} UTC, {settings.INTERACTION_RETENTION_DAYS} days), "
            f"{run.interactions_kept} kept without evidence, {run.playbooks_archived} playbooks archived "
            f"(created before {run.playbook_cutoff:%Y-%m-%d %H:%M} UTC)"
        )
        if run.note:
            self.stdout.write(f"note: {run.note}")
        if run.status != JobStatus.SUCCEEDED:
            raise CommandError(f"retention run {run.pk} {run.status}: {run.error}")
