"""`manage.py embed_semantic_workers [--missing] [--sync]`: (re)compute only the semantic vectors, as
a re-embed job of the `workers_semantic` index (the same job the API and the index admin launch), and
follow its progress."""

from __future__ import annotations


from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from apps.core.choices import JobStatus
from apps.core.errors import DomainError
from apps.core.jobs import follow_job
from apps.indexes import services
from apps.indexes.embedders import get_semantic_embedder
from apps.indexes.models import IndexJob

INDEX = "workers_semantic"


class Command(BaseCommand):
    help = "Embed the semantic column of every worker (or only those without one) with SEMANTIC_EMBEDDING_PROVIDER."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--missing", action="store_true", help="only workers without a vector from the current semantic model")
        parser.add_argument("--sync", action="store_true", help="run the job in this process instead of the Celery worker")

    def handle(self, *args, missing: bool, sync: bool, **options) -> None:
        try:
            job = services.start_reembed(INDEX, actor="manage.py", only_missing=missing, dispatch=not sync)
        except DomainError as exc:
            raise CommandError(str(exc)) from None
        if sync:
            job = services.run_reembed(job.pk)
        else:
            self.stdout.write(f"index job {job.pk} queued (task {job.task_id or '-'})")
            job = self._follow(job, quiet=options["verbosity"] == 0)
        if job.status != JobStatus.SUCCEEDED:
            raise CommandError(f"index job {job.pk} {job.status}: {job.error}")
        self.stdout.write(f"index job {job.pk} succeeded: embedded {job.rows_done} workers with {get_semantic_embedder().key}")

    def _follow(self, job: IndexJob, *, quiet: bool) -> IndexJob:
        with tqdm(total=None, unit="workers", disable=quiet) as bar:

            def show(current: IndexJob) -> None:
                bar.total = current.rows_total or None
                bar.update(current.rows_done - bar.n)

            return follow_job(job, on_poll=show)
