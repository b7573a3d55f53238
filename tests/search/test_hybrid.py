"""Hybrid ranking plumbing (issue 19) with a real second embedder: `hash` at SEMANTIC_EMBEDDING_DIM stands
in for the optional sentence-transformers model (which needs torch), so the semantic column, its index,
ingest, the semantic-only re-embed and the fused search all run for real."""

from __future__ import annotations

import pytest

from apps.indexes import embedders
from apps.workers.generator import generate_workers, write_workers
from apps.workers.models import Worker
from apps.workers.services import create_ingest_job, embed_semantic_column, run_ingest
from tests.searching import search

pytestmark = pytest.mark.django_db


@pytest.fixture
def semantic_on(settings):
    settings.SEMANTIC_EMBEDDING_PROVIDER = "hash"
    embedders.get_semantic_embedder.cache_clear()
    embedders.get_semantic_embedding_cache.cache_clear()
    yield embedders.get_semantic_embedder()
    embedders.get_semantic_embedder.cache_clear()
    embedders.get_semantic_embedding_cache.cache_clear()


def test_ingest_writes_both_vectors_and_the_fused_search_keeps_filters_exclusions_and_exact_k(semantic_on, coordinator_client, tmp_path):
    Worker.objects.all().delete()  # rolled back with the test: the session corpus survives
    path = tmp_path / "workers.parquet"
    write_workers(generate_workers(400, seed=5), path)
    job = run_ingest(create_ingest_job(path=path, dispatch=False).pk)
    assert job.status == "succeeded" and "semantic_embed_s" in job.timings
    assert not Worker.objects.filter(semantic_embedding__isnull=True).exists()
    assert set(Worker.objects.values_list("semantic_model", flat=True)) == {semantic_on.key}

    role = "forklift_operator"
    matching = Worker.objects.filter(role=role, status="active").count()
    assert matching > 10
    first = search(coordinator_client, query="forklift operator night shift", k=10, filters={"role": role}, explain=True)
    assert first["index"]["ranking"] == "hybrid" and len(first["results"]) == 10
    for result in first["results"]:
        assert result["worker"]["role"] == role and "similarity_parts" not in result
        parts = result["explain"]["similarity_parts"]
        assert parts["lexical"] is not None and parts["semantic"] is not None
        assert result["explain"]["similarity"] == pytest.approx(result["score"], abs=1e-6)
        assert result["distance"] == pytest.approx(1 - result["score"], abs=1e-6)
    scores = [r["score"] for r in first["results"]]
    assert scores == sorted(scores, reverse=True) and 0 < scores[-1] <= scores[0] <= 1.0
    seen = [r["worker_id"] for r in first["results"]]
    swap = search(coordinator_client, query="forklift operator night shift", k=matching, filters={"role": role}, exclude_ids=seen)
    assert len(swap["results"]) == matching - 10 and not set(seen) & {r["worker_id"] for r in swap["results"]}


def test_the_semantic_column_re_embeds_alone(semantic_on, search_corpus):
    worker = Worker.objects.filter(status="active").first()
    Worker.objects.filter(pk=worker.pk).update(semantic_embedding=None, semantic_model="")
    lexical_before = list(Worker.objects.get(pk=worker.pk).embedding)
    assert embed_semantic_column([worker.pk]) == 1
    worker.refresh_from_db()
    assert worker.semantic_model == semantic_on.key and worker.semantic_embedding is not None
    assert list(worker.embedding) == lexical_before


def test_without_a_semantic_provider_search_stays_lexical(search_corpus, coordinator_client):
    body = search(coordinator_client, query="welder tig", k=3, explain=True)
    assert body["index"]["ranking"] == "lexical"
    assert all("similarity_parts" not in r["explain"] for r in body["results"])
