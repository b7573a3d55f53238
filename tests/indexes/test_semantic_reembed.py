"""The semantic column as an index (issue 19): `workers_semantic` re-embeds as an index job with
progress (API 202, the command, a real Celery worker), with whatever SEMANTIC_EMBEDDING_PROVIDER is
configured. `hash` at SEMANTIC_EMBEDDING_DIM stands in for sentence-transformers (which needs torch):
deterministic, and the job's code path is the provider-agnostic one."""

from __future__ import annotations

import os

import pytest
from django.core.management import CommandError, call_command

from apps.indexes import services
from apps.indexes.models import IndexJob
from apps.workers.models import Worker
from tests.search.test_hybrid import semantic_on  # noqa: F401  (the fixture: `hash` as the semantic provider)

INDEX = "workers_semantic"


def _small_corpus(tmp_path, count: int) -> list[int]:
    """`count` workers as if ingested before the semantic provider was switched on: no semantic vectors."""
    from apps.workers.generator import generate_workers, write_workers
    from apps.workers.services import create_ingest_job, run_ingest

    Worker.objects.all().delete()
    path = tmp_path / "w.parquet"
    write_workers(generate_workers(count, seed=29), path)
    assert run_ingest(create_ingest_job(path=path, dispatch=False).pk).status == "succeeded"
    Worker.objects.update(semantic_embedding=None, semantic_model="")
    assert not Worker.objects.exclude(semantic_embedding=None).exists()
    return list(Worker.objects.order_by("pk").values_list("pk", flat=True))


@pytest.mark.django_db
def test_without_a_semantic_provider_the_api_answers_400_and_queues_nothing(staff_client, settings):
    settings.SEMANTIC_EMBEDDING_PROVIDER = ""
    response = staff_client.post(f"/api/v1/indexes/{INDEX}/reembed/", {}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "provider_not_configured"
    assert "SEMANTIC_EMBEDDING_PROVIDER is not set" in response.json()["error"]["message"]
    assert not IndexJob.objects.filter(index__name=INDEX).exists()


@pytest.mark.django_db
def test_only_missing_is_refused_for_an_index_that_cannot_tell_and_unknown_fields_are_400(staff_client):
    refused = staff_client.post("/api/v1/indexes/workers/reembed/", {"only_missing": True}, format="json")
    assert refused.status_code == 400 and "only_missing" in refused.json()["error"]["fields"]
    typo = staff_client.post("/api/v1/indexes/workers/reembed/", {"only_mising": True}, format="json")
    assert typo.status_code == 400 and "only_mising" in typo.json()["error"]["fields"]
    assert not IndexJob.objects.exists()


@pytest.mark.django_db
def test_the_job_embeds_only_the_semantic_column_with_progress_and_only_missing_resumes(semantic_on, staff_client, settings, tmp_path):
    settings.INDEX_REEMBED_BATCH_SIZE = 40
    pks = _small_corpus(tmp_path, 120)
    lexical_before = dict(Worker.objects.values_list("pk", "embedding"))

    accepted = staff_client.post(f"/api/v1/indexes/{INDEX}/reembed/", {}, format="json")
    assert accepted.status_code == 202 and set(accepted.json()) >= {"job_id", "task_id"}
    job = services.run_reembed(accepted.json()["job_id"])  # the worker's body, in this process

    assert job.status == "succeeded" and job.rows_done == job.rows_total == 120 and job.progress == 100.0
    assert set(Worker.objects.values_list("semantic_model", flat=True)) == {semantic_on.key}
    for pk, vector in Worker.objects.values_list("pk", "embedding"):
        assert list(vector) == list(lexical_before[pk])  # the lexical vector stays
    detail = staff_client.get(f"/api/v1/indexes/jobs/{job.pk}/").json()
    assert detail["index"] == INDEX and detail["kind"] == "reembed" and detail["only_missing"] is False
    listed = {i["name"]: i for i in staff_client.get("/api/v1/indexes/").json()}
    assert listed[INDEX]["rows"] == 120 and listed[INDEX]["dim"] == settings.SEMANTIC_EMBEDDING_DIM

    # Ten lose their vector (or were embedded by another model): only those are embedded again.
    stale = pks[:7]
    Worker.objects.filter(pk__in=pks[7:10]).update(semantic_model="another-model")
    Worker.objects.filter(pk__in=stale).update(semantic_embedding=None, semantic_model="")
    again = services.start_reembed(INDEX, actor="t", only_missing=True, dispatch=False)
    again = services.run_reembed(again.pk)
    assert again.status == "succeeded" and again.rows_total == again.rows_done == 10
    assert set(Worker.objects.values_list("semantic_model", flat=True)) == {semantic_on.key}


@pytest.mark.django_db
def test_resetting_the_semantic_index_clears_the_column_and_keeps_the_corpus(semantic_on, staff_client, tmp_path):
    _small_corpus(tmp_path, 50)
    services.run_reembed(services.start_reembed(INDEX, dispatch=False).pk)
    response = staff_client.delete(f"/api/v1/indexes/{INDEX}/")
    assert response.status_code == 200 and response.json()["rows"] == 0
    assert Worker.objects.count() == 50
    assert not Worker.objects.exclude(semantic_embedding=None).exists()


@pytest.mark.django_db
def test_the_command_launches_the_same_job_and_reports_it(semantic_on, tmp_path, capsys, settings):
    _small_corpus(tmp_path, 30)
    call_command("embed_semantic_workers", "--sync", verbosity=0)
    job = IndexJob.objects.get(index__name=INDEX)
    assert job.status == "succeeded" and job.rows_done == 30 and job.created_by == "manage.py"
    assert f"embedded 30 workers with {semantic_on.key}" in capsys.readouterr().out

    call_command("embed_semantic_workers", "--sync", "--missing", verbosity=0)
    assert IndexJob.objects.filter(index__name=INDEX).latest("created_at").rows_total == 0

    settings.SEMANTIC_EMBEDDING_PROVIDER = ""
    with pytest.raises(CommandError, match="SEMANTIC_EMBEDDING_PROVIDER is not set"):
        call_command("embed_semantic_workers", "--sync", verbosity=0)


@pytest.mark.celery_worker
@pytest.mark.django_db(transaction=True)
def test_a_real_celery_worker_runs_the_job_with_its_configured_provider(semantic_on, tmp_path):
    """Its own worker on its own queue, configured like a deployment with the semantic provider on
    (the session worker runs without one); small batches so progress moves in steps."""
    from apps.indexes.tasks import index_job_task
    from tests.core.test_job_faults import _wait, _worker

    _small_corpus(tmp_path, 300)
    queue = f"semantic-reembed-{os.getpid()}"
    with _worker("semantic-reembed", [queue], SEMANTIC_EMBEDDING_PROVIDER="hash", INDEX_REEMBED_BATCH_SIZE="50"):
        job = services.start_reembed(INDEX, actor="t", dispatch=False)
        index_job_task.apply_async((job.pk,), queue=queue)
        finished = _wait(lambda: (j := IndexJob.objects.get(pk=job.pk)).is_finished and j, 120, "the re-embed job never ended")

    assert finished.status == "succeeded", finished.error
    assert finished.rows_done == finished.rows_total == 300 and finished.progress == 100.0
    assert finished.started_at and finished.heartbeat_at and finished.attempts == 1
    # The worker embedded with the same deterministic provider this process has: the same vectors.
    worker = Worker.objects.order_by("pk").first()
    from apps.workers.profile import profile_text
    from apps.workers.services import worker_as_dict

    assert worker.semantic_model == semantic_on.key
    assert list(worker.semantic_embedding) == pytest.approx(list(semantic_on.embed([profile_text(worker_as_dict(worker))])[0]), abs=1e-6)


@pytest.mark.django_db
def test_the_index_admin_launches_a_missing_only_re_embed_and_lands_on_its_live_page(semantic_on, client):
    from apps.core.services import issue_api_token
    from apps.indexes.models import VectorIndex

    issue_api_token(username="console", staff=True, password="pw-for-tests")
    assert client.login(username="console", password="pw-for-tests")
    client.get("/admin/indexes/vectorindex/")
    semantic = VectorIndex.objects.get(name=INDEX)
    response = client.post("/admin/indexes/vectorindex/", {"action": "reembed_missing_selected", "_selected_action": [semantic.pk]})
    job = IndexJob.objects.get(index=semantic)
    assert job.kind == "reembed" and job.only_missing and job.status == "queued" and job.created_by == "console"
    assert response.status_code == 302 and response["Location"] == f"/admin/indexes/indexjob/{job.pk}/change/"
    live = client.get(f"/admin/indexes/indexjob/{job.pk}/live/")
    assert live.status_code == 200 and live.json()["status"] == "queued"
