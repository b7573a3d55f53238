from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from apps.core.errors import InvalidInput
from apps.core.jobs import follow_job
from apps.core.management.arguments import int_between
from apps.workers.choices import IngestStatus
from apps.workers.models import IngestJob
from apps.workers.services import create_ingest_job, run_ingest


class Command(BaseCommand):
    help = "Ingest a worker file (Parquet, CSV or JSON Lines) through the Celery worker, or in-process with --sync."

    def add_arguments(self, parser) -> None:
        parser.add_argument("path")
        parser.add_argument("--format", choices=["csv", "parquet", "jsonl"], default=None)
        parser.add_argument("--drop", action="store_true", help="empty the workers index first")
        parser.add_argument("--limit", type=int_between(1), default=None, help="ingest at most N rows")
        parser.add_argument("--sync", action="store_true", help="run in this process instead of the Celery worker")

    def handle(self, *args, path: str, format: str | None, drop: bool, limit: int | None, sync: bool, **options) -> None:
        source = _file_to_read(path)
        try:
            job = create_ingest_job(path=source, fmt=format, drop=drop, limit=limit, actor="manage.py", dispatch=not sync)
        except InvalidInput as exc:  # e.g. a format the extension does not tell
            raise CommandError(f"{path}: {exc}") from None
        bar = tqdm(total=100, unit="%", bar_format="{l_bar}{bar}| {n:.0f}% [{elapsed}<{remaining}] {postfix}")

        def show(current: IngestJob) -> None:
            bar.n = current.progress
            bar.set_postfix_str(f"rows={current.rows_read} rps={current.rows_per_s:.0f}")
            bar.refresh()

        if sync:
            job = run_ingest(job.pk, on_progress=show)
        else:
            self.stdout.write(f"job {job.pk} queued (task {job.task_id})")
            job = follow_job(job, on_poll=show)
        bar.close()
        self.stdout.write(
            f"job {job.pk} {job.status}: read {job.rows_read}, written {job.rows_written}, unchanged {job.rows_unchanged}, "
            f"rejected {job.rows_rejected}, embedded {job.texts_embedded}, warnings {job.warnings_count}, "
            f"{job.rows_per_s:.0f} rows/s, timings {job.timings}"
        )
        for error in job.errors[:20]:
            self.stdout.write(f"  line {error['line']}: {error['worker_id'] or '-'}: {error['reason']}")
        if job.status != IngestStatus.SUCCEEDED:
            raise CommandError(job.error)


def _file_to_read(path: str) -> Path:
    """The resolved file, or a CommandError saying why it cannot be one (never a traceback)."""
    try:
        source = Path(path).expanduser().resolve()
        if source.is_dir():
            raise CommandError(f"{path}: is a directory, not a file")
        if not source.is_file():
            raise CommandError(f"{path}: no such file")
    except (OSError, RuntimeError, ValueError) as exc:
        # A name too long for the filesystem (OSError), a symlink loop (RuntimeError), a NUL byte (ValueError).
        raise CommandError(f"{path[:200]}: cannot be read ({getattr(exc, 'strerror', None) or exc})") from None
    return source
