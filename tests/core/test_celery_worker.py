import time
import uuid

import pytest
from django.conf import settings
from rest_framework.test import APIClient

pytestmark = [pytest.mark.celery_worker, pytest.mark.django_db(transaction=True)]


def test_a_task_runs_in_a_real_worker_process_on_the_test_database(celery_worker_process):
    from apps.core.tasks import describe_worker_environment

    token = uuid.uuid4().hex
    result = describe_worker_environment.delay(token).get(timeout=30)
    assert result["token"] == token
    assert result["database"] == settings.DATABASES["default"]["TEST"]["NAME"]
    assert result["pgvector"]


def test_healthz_is_200_with_a_worker_answering(celery_worker_process):
    # healthz pings for 1 s (it must answer within 3 s); a worker busy on a loaded machine may miss
    # one ping, so wait for the condition rather than trusting one sample.
    deadline = time.monotonic() + 60
    while True:
        response = APIClient().get("/healthz")
        if response.status_code == 200 or time.monotonic() > deadline:
            break
    body = response.json()
    assert response.status_code == 200, body
    assert body["down"] == []
    assert body["celery_workers"] >= 1
    assert tuple(int(p) for p in body["pgvector"].split(".")[:2]) >= (0, 5)
