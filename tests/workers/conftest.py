"""A small real corpus, generated and ingested once per session through the ingest service."""

from __future__ import annotations

import numpy as np
import pytest

CORPUS_SIZE = 3000


@pytest.fixture(scope="session")
def search_corpus(django_db_setup, django_db_blocker, tmp_path_factory):
    from apps.workers.generator import generate_workers, write_workers
    from apps.workers.models import Worker
    from apps.workers.services import create_ingest_job, run_ingest

    path = tmp_path_factory.mktemp("corpus") / "workers.parquet"
    write_workers(generate_workers(CORPUS_SIZE, seed=11), path)
    with django_db_blocker.unblock():
        Worker.objects.all().delete()
        job = run_ingest(create_ingest_job(path=path, dispatch=False).pk)
        assert job.status == "succeeded", job.error
        rows = list(
            Worker.objects.values_list(
                "worker_id", "embedding", "status", "city", "state", "role", "skills", "certifications", "shift_preference", "available_from"
            )
        )
    ids = [r[0] for r in rows]
    matrix = np.array([r[1] for r in rows], dtype=np.float32)
    meta = [
        dict(zip(("status", "city", "state", "role", "skills", "certifications", "shift_preference", "available_from"), r[2:]))
        for r in rows
    ]
    return {"ids": ids, "matrix": matrix, "meta": meta}


def exact_ranking(corpus, query_vector: np.ndarray, keep, k: int) -> list[str]:
    """Brute-force cosine ranking over the stored embeddings: the oracle for search tests."""
    mask = np.array([keep(wid, m) for wid, m in zip(corpus["ids"], corpus["meta"])])
    if not mask.any():
        return []
    distances = 1.0 - corpus["matrix"] @ query_vector / (
        np.linalg.norm(corpus["matrix"], axis=1) * np.linalg.norm(query_vector) + 1e-12
    )
    candidates = np.flatnonzero(mask)
    order = candidates[np.argsort(distances[candidates], kind="stable")][:k]
    return [corpus["ids"][i] for i in order]
