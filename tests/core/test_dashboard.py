"""The dashboard's health read: every dependency reported, a dead Redis is red at once (not a hung page)."""

import time

import pytest

from lakehouse.dashboard import dependency_health, recent_jobs

pytestmark = pytest.mark.django_db


def test_health_reports_postgres_pgvector_redis_and_queue_depths():
    report = dependency_health()
    assert report["database"]["ok"] and report["database"]["server_version"] and report["pgvector"]
    assert report["redis"]["ok"] and report["redis"]["version"]
    assert report["queues"] and all(isinstance(depth, int) for depth in report["queues"].values())


def test_a_dead_redis_is_reported_down_quickly_and_hides_nothing_else(settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    started = time.monotonic()
    report = dependency_health()
    # Generous bound: the point is "about the probe timeout", not minutes of retries.
    assert time.monotonic() - started < 10
    assert report["redis"]["ok"] is False and "redis" in report["down"] and "celery" in report["down"]
    assert report["database"]["ok"] is True and report["queues"] == {}


def test_recent_jobs_lists_every_kind_in_flight_first():
    from django.utils import timezone

    from apps.replay.models import ReplayBatch
    from apps.workers.models import IngestJob

    IngestJob.objects.all().delete()  # the session's search corpus may have committed its ingest job
    ReplayBatch.objects.all().delete()
    IngestJob.objects.create(source="/d/done.csv", format="csv", status="succeeded", progress=100.0)
    ReplayBatch.objects.create(batch_id="rb_x", provider="local", status="running", total=4, passed=1, progress=25.0, started_at=timezone.now())
    lines = recent_jobs()
    assert [line.kind for line in lines] == ["replay", "ingest"]
    assert lines[0].progress == 25.0 and lines[0].url.endswith("/admin/replay/replaybatch/rb_5Fx/change/")  # the admin quotes "_"
