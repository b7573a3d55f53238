"""The interaction log's queue (apps.interactions.services) on the real Redis, PostgreSQL and Celery:
rows leave the request path, feedback on them is accepted before they land, and draining loses and
duplicates nothing — also when a drainer dies between its commit and its clean-up, and while requests
keep pushing."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection

from apps.evidence.services import build_evidence_index, record_feedback
from apps.interactions import services
from apps.interactions.log_queue import PENDING_KEY, QUEUE_KEY
from apps.interactions.models import Interaction
from apps.interactions.selectors import interaction_kind
from apps.interactions.services import drain_interaction_queue, log_interaction

pytestmark = pytest.mark.django_db(transaction=True)


def _log(n: int, *, kind: str = "search", actor: str = "coordinator") -> list[str]:
    return [
        str(log_interaction(kind=kind, actor=actor, request={"query": f"forklift {i}", "key": "sk-live-abcdefghijklmnop1234"}, response={"n": i}).pk)
        for i in range(n)
    ]


def test_a_logged_interaction_is_queued_not_inserted_and_lands_once_when_drained(redis_client):
    ids = _log(5)

    assert not Interaction.objects.exists()  # the request path wrote nothing to PostgreSQL
    assert redis_client.llen(QUEUE_KEY) == 5 and redis_client.hlen(PENDING_KEY) == 5
    assert b"sk-live" not in b"".join(redis_client.lrange(QUEUE_KEY, 0, -1))  # scrubbed before it is queued

    assert drain_interaction_queue() == 5
    assert sorted(str(pk) for pk in Interaction.objects.values_list("pk", flat=True)) == sorted(ids)
    assert redis_client.llen(QUEUE_KEY) == 0 and redis_client.hlen(PENDING_KEY) == 0
    row = Interaction.objects.get(pk=ids[3])
    assert (row.kind, row.actor, row.response, row.ok) == ("search", "coordinator", {"n": 3}, True)
    assert "sk-live" not in str(row.request) and row.seq is not None
    assert drain_interaction_queue() == 0 and Interaction.objects.count() == 5


def test_feedback_on_a_queued_interaction_is_accepted_before_its_row_lands():
    (target,) = _log(1, kind="validate_email")
    assert not Interaction.objects.filter(pk=target).exists()

    feedback = record_feedback(target_id=target, verdict="accept", actor="coordinator")

    drain_interaction_queue()
    assert Interaction.objects.get(pk=feedback.pk).request == {"target_id": target, "verdict": "accept"}
    assert interaction_kind(Interaction.objects.get(pk=target).pk) == "validate_email"  # from the table now


def test_a_drainer_that_died_after_its_commit_leaves_entries_that_insert_nothing_twice(redis_client):
    _log(7)
    entries = redis_client.lrange(QUEUE_KEY, 0, -1)
    pending = redis_client.hgetall(PENDING_KEY)
    assert drain_interaction_queue() == 7
    # What a drainer killed between its COMMIT and its LREM leaves behind: the same entries, still queued.
    redis_client.rpush(QUEUE_KEY, *entries)
    redis_client.hset(PENDING_KEY, mapping=pending)
    _log(2)

    assert drain_interaction_queue() == 2  # only the two new rows are inserted
    assert Interaction.objects.count() == 9
    assert redis_client.llen(QUEUE_KEY) == 0 and redis_client.hlen(PENDING_KEY) == 0


def test_rows_pushed_while_drainers_run_are_all_inserted_exactly_once(redis_client):
    pushed: list[str] = []
    failures: list[BaseException] = []

    def push() -> None:
        try:
            pushed.extend(_log(150))
        except BaseException as exc:  # reported below: a thread's exception would vanish
            failures.append(exc)
        finally:
            connection.close()

    def drain() -> None:
        try:
            for _ in range(20):
                drain_interaction_queue(batch_size=25)
        except BaseException as exc:
            failures.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=push), threading.Thread(target=push), threading.Thread(target=drain), threading.Thread(target=drain)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not failures and not any(t.is_alive() for t in threads)
    drain_interaction_queue()

    stored = [str(pk) for pk in Interaction.objects.values_list("pk", flat=True)]
    assert len(stored) == len(set(stored)) == 300 and set(stored) == set(pushed)
    assert redis_client.llen(QUEUE_KEY) == 0 and redis_client.hlen(PENDING_KEY) == 0


def test_an_unreadable_entry_is_set_aside_and_does_not_block_the_queue(redis_client):
    _log(1)
    redis_client.rpush(QUEUE_KEY, b"{not json")
    _log(1)

    assert drain_interaction_queue() == 2
    assert redis_client.llen(QUEUE_KEY) == 0 and redis_client.lrange(f"{QUEUE_KEY}:unreadable", 0, -1) == [b"{not json"]


def test_inside_a_transaction_the_row_joins_it(redis_client):
    from django.db import transaction

    with transaction.atomic():
        (kept,) = _log(1)
    with pytest.raises(RuntimeError), transaction.atomic():
        _log(1)
        raise RuntimeError("rolled back")

    assert [str(pk) for pk in Interaction.objects.values_list("pk", flat=True)] == [kept]
    assert redis_client.llen(QUEUE_KEY) == 0


def test_the_callers_writes_share_the_push_and_a_failed_one_does_not_fail_it(redis_client):
    redis_client.set("test:a-string", "x")
    writes = redis_client.pipeline(transaction=True)
    writes.set("test:cache-entry", "cached", ex=60)
    writes.lpush("test:a-string", "y")  # WRONGTYPE: the caller's write fails inside the MULTI

    logged = log_interaction(kind="search", request={"query": "forklift"}, response={}, redis_writes=writes)

    assert redis_client.get("test:cache-entry") == b"cached"
    assert redis_client.llen(QUEUE_KEY) == 1 and redis_client.hget(PENDING_KEY, str(logged.pk)) == b"search"
    assert services._redis_down_until == float("-inf")  # a cache write's failure is not Redis being down
    assert drain_interaction_queue() == 1 and Interaction.objects.filter(pk=logged.pk).exists()


def test_a_row_inserted_in_a_transaction_still_writes_the_callers_writes(redis_client):
    from django.db import transaction

    writes = redis_client.pipeline(transaction=True)
    writes.set("test:cache-entry", "cached", ex=60)
    with transaction.atomic():
        logged = log_interaction(kind="search", request={}, response={}, redis_writes=writes)

    assert Interaction.objects.filter(pk=logged.pk).exists() and redis_client.llen(QUEUE_KEY) == 0
    assert redis_client.get("test:cache-entry") == b"cached"


def test_the_push_refuses_a_pipeline_without_multi(redis_client):
    with pytest.raises(ValueError, match="MULTI"):
        log_interaction(kind="search", request={}, response={}, redis_writes=redis_client.pipeline(transaction=False))
    assert redis_client.llen(QUEUE_KEY) == 0


@pytest.fixture
def redis_down(settings, monkeypatch):
    from apps.core.redis import get_redis

    monkeypatch.setattr(services, "_redis_down_until", float("-inf"))  # restored after the test
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens there: what a stopped Redis looks like
    get_redis.cache_clear()
    yield
    get_redis.cache_clear()


def test_with_redis_down_the_row_is_inserted_at_once_and_feedback_still_works(redis_down):
    (logged,) = _log(1)

    assert Interaction.objects.filter(pk=logged).exists()
    feedback = record_feedback(target_id=logged, verdict="reject")
    assert Interaction.objects.filter(pk=feedback.pk, kind="feedback").exists()


def test_with_redis_down_feedback_on_an_unknown_id_is_a_503_not_a_wrong_no(redis_down):
    import uuid

    from apps.core.errors import DependencyDown

    with pytest.raises(DependencyDown):
        record_feedback(target_id=str(uuid.uuid4()), verdict="accept")


def test_the_materializer_drains_the_queue_before_it_reads(settings, tmp_path):
    from tests.evidence.conftest import interaction_kwargs

    settings.KB_DIR = tmp_path / "kb"
    ids = [str(log_interaction(kind="search", actor="coordinator", **interaction_kwargs("search")).pk) for _ in range(3)]
    assert not Interaction.objects.exists()

    run = build_evidence_index(actor="tester")

    assert run.status == "succeeded", run.error
    assert run.records_written == 3
    assert Interaction.objects.filter(pk__in=ids).count() == 3


def _wait_until(condition, *, bound_s: float = 60.0) -> None:
    """Poll a condition with a generous bound (never a fixed sleep)."""
    deadline = time.monotonic() + bound_s
    while not condition():
        assert time.monotonic() < deadline, "condition not met within the bound"
        time.sleep(0.05)


def test_the_celery_drain_task_lands_the_rows(celery_worker_process, redis_client):
    from apps.interactions.tasks import drain_interactions_task

    ids = _log(4)
    drain_interactions_task.delay()  # ignore_result: nothing to .get(), so wait on its effect

    _wait_until(lambda: Interaction.objects.filter(pk__in=ids).count() == 4)
    assert redis_client.llen(QUEUE_KEY) == 0


def test_a_full_batch_asks_the_worker_to_drain_without_waiting_for_beat(celery_worker_process, settings, redis_client):
    settings.INTERACTION_DRAIN_BATCH = 5
    ids = _log(5)

    _wait_until(lambda: Interaction.objects.filter(pk__in=ids).count() == 5)


def test_reading_back_a_queued_id_lands_it_first(staff_client):
    (logged,) = _log(1, kind="validate_sms")

    detail = staff_client.get(f"/api/v1/interactions/{logged}/")

    assert detail.status_code == 200 and detail.json()["kind"] == "validate_sms"
    assert staff_client.get("/api/v1/interactions/00000000-0000-0000-0000-000000000000/").status_code == 404


def test_what_a_queued_row_is_about_lands_with_it():
    logged = log_interaction(kind="search", request={}, response={}, order_id="JO-7", worker_ids=["W-000001", "W-000002"])

    drain_interaction_queue()
    row = Interaction.objects.get(pk=logged.pk)
    assert (row.order_id, row.worker_ids) == ("JO-7", ["W-000001", "W-000002"])
