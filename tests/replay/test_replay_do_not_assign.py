"""Replay treats a fill that includes a worker on the client's do-not-assign list as a failure, and
never retrieves one for the model (SPEC §3.2a)."""

from __future__ import annotations

import json

from apps.orders.services import do_not_assign_add
from apps.replay.models import ReplayRun
from tests.providers.model_server import ModelServer
from tests.replay.test_replay import _codes, _replay, evidence  # noqa: F401 - evidence is a fixture


def test_a_replayed_fill_with_a_banned_worker_is_a_regression(evidence, settings):  # noqa: F811
    do_not_assign_add(client="ACME", worker_id="W-0002", reason="Client request")
    with ModelServer(chat_reply=lambda messages, model: json.dumps({"worker_ids": ["W-0001", "W-0002"]})) as server:
        batch = _replay("openai", server, settings, task_types=["propose_fill"])
    assert _codes("propose_fill", batch) == ["WORKER_DO_NOT_ASSIGN"]
    run = ReplayRun.objects.get(batch=batch)
    assert run.status == "fail" and run.regression is True and batch.regressions == 1
    assert run.retrieval["ids"] and "W-0002" not in run.retrieval["ids"]


def test_a_batch_with_regressions_alerts_once(evidence, settings, django_capture_on_commit_callbacks):  # noqa: F811
    from django.core import mail

    from apps.alerts.models import Alert
    from apps.replay.services import run_batch

    with django_capture_on_commit_callbacks(execute=True):
        with ModelServer(chat_reply=lambda messages, model: "Sure! I'd pick Ana and Ben.") as server:
            batch = _replay("openai", server, settings, task_types=["propose_fill"])
        run_batch(batch.batch_id)  # already finished: returns without a second alert
    assert batch.regressions == 1
    assert Alert.objects.get().key == f"replay_regressions:{batch.batch_id}"
    assert len(mail.outbox) == 1 and batch.batch_id in mail.outbox[0].subject
