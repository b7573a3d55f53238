"""The demo corpus `make run` loads on first run: generated, then ingested through the Celery worker."""

from __future__ import annotations

import time

from django.conf import settings
from tqdm import tqdm

from apps.workers.choices import IngestStatus
from apps.workers.generator import generate_workers
from apps.workers.source_writers import write_workers
from apps.workers.models import IngestJob, Worker
from apps.workers.services import create_ingest_job


def load_demo_corpus(*, count: int, actor: str, seed: int = 7, poll_s: float = 0.5) -> IngestJob | None:
    """Generate `count` workers and ingest them through the worker, showing progress; no-op when the
    corpus already has workers."""
    existing = Worker.objects.count()
    if existing:
        print(f"Worker corpus present ({existing} workers); skipping the demo load.", flush=True)
        return None
    path = settings.BASE_DIR / "data" / f"demo_workers_{count}_seed{seed}.parquet"
    if not path.exists():
        print(f"Generating {count} demo workers → {path.relative_to(settings.BASE_DIR)} ...", flush=True)
        path.parent.mkdir(parents=True, exist_ok=True)
        write_workers(generate_workers(count, seed), path)
    job = create_ingest_job(path=path, actor=actor)
    print(f"Ingesting through the Celery worker (job {job.pk}) ...", flush=True)
    with tqdm(total=100, unit="%", bar_format="{l_bar}{bar}| {n:.0f}% [{elapsed}<{remaining}]") as bar:
        while True:
            job.refresh_from_db()
            bar.n = job.progress
            bar.set_postfix(rows=job.rows_read, rps=int(job.rows_per_s))
            bar.refresh()
            if job.is_finished:
                break
            time.sleep(poll_s)
    print(
        f"Ingest {job.status}: {job.rows_written} written, {job.rows_rejected} rejected, "
        f"{job.rows_per_s:.0f} rows/s{'; error: ' + job.error if job.error else ''}",
        flush=True,
    )
    return job
