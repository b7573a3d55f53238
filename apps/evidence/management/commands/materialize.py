from __future__ import annotations

import argparse
from datetime import date, datetime

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.dateparse import parse_datetime

from apps.core.errors import DomainError, InvalidInput
from apps.core.jobs import follow_job
from apps.evidence import services
from apps.evidence.choices import MaterializeStatus
from apps.evidence.models import MaterializeRun


def _date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a date (YYYY-MM-DD)") from None


def _datetime(value: str) -> datetime:
    parsed = parse_datetime(value) if "T" in value or " " in value else None
    if parsed is None:
        try:
            parsed = datetime.combine(date.fromisoformat(value), datetime.min.time())
        except ValueError:
            raise argparse.ArgumentTypeError(f"{value!r} is not a date or ISO 8601 time") from None
    return parsed  # naive times are taken as UTC by the service


class Command(BaseCommand):
    help = (
        "Distill the interaction log, inbox chat logs and replay runs into the evidence index "
        "(after the watermark, or --since/--day, or --rebuild-day D), through the Celery worker or --sync."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--since", type=_datetime, default=None, help="sources that occurred at or after this time (UTC if no offset)")
        parser.add_argument("--day", type=_date, default=None, help="sources of this UTC day (YYYY-MM-DD)")
        parser.add_argument("--rebuild-day", type=_date, default=None, help="rewrite this day's partition from its sources")
        parser.add_argument("--sync", action="store_true", help="run in this process instead of the Celery worker")

    def handle(self, *args, since: datetime | None, day: date | None, rebuild_day: date | None, sync: bool, **options) -> None:
        try:
            if sync:
                run = services.build_evidence_index(since=since, day=day, rebuild_day=rebuild_day, actor="manage.py")
            else:
                run = services.start_materialize_run(since=since, day=day, rebuild_day=rebuild_day, actor="manage.py")
                self.stdout.write(f"run {run.run_id} queued (task {run.task_id or '-'})")
                run = follow_job(run)
        except DomainError as exc:
            raise CommandError(str(exc)) from None
        self._report(run)
        if run.status != MaterializeStatus.SUCCEEDED:
            raise CommandError(f"run {run.run_id} {run.status}: {run.error}")

    def _report(self, run: MaterializeRun) -> None:
        self.stdout.write(
            f"run {run.run_id} {run.status} ({run.mode}): scanned {run.sources_scanned}, "
            f"written {run.records_written}, duplicates skipped {run.duplicates_skipped}, errors {run.errors_count}"
        )
        for entry in run.files:
            self.stdout.write(f"  {entry['path']}  {entry['records']} records  sha256 {entry['sha256']}")
        for error in run.errors[:20]:
            self.stdout.write(f"  error {error['source_id']} [{error['transform']}]: {error['message']}")
        if run.receipt_path:
            self.stdout.write(f"receipt: {run.receipt_path}")
