"""The playbook memory's size: a trigger-kept counter on the registry row (migration 0005), exact after
every kind of write, so a record's 201 reports it without counting the table (issue 18)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.indexes.models import VectorIndex
from apps.indexes.services import bump_counted_index_version, reset_index
from apps.playbooks.models import Playbook
from apps.playbooks.services import archive_playbooks, record_playbook
from apps.workers.models import Worker

pytestmark = pytest.mark.django_db


def _record(workers: list[str], query: str = "forklift operator night shift") -> dict:
    return record_playbook(query=query, worker_ids=workers, outcome="filled")


def _assert_counter_is_the_count() -> int:
    count = Playbook.objects.count()
    assert VectorIndex.objects.get(name="playbook_memory").row_count == count
    return count


def test_the_counter_follows_every_kind_of_write(search_corpus):
    workers = list(Worker.objects.order_by("worker_id").values_list("worker_id", flat=True)[:3])
    sizes = [_record(workers[:1], f"welder order {i}")["index"]["size"] for i in range(3)]
    assert sizes == [1, 2, 3]
    assert _assert_counter_is_the_count() == 3

    # Raw SQL, two rows in one statement: the statement-level trigger counts both.
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO playbooks_playbook (query, query_embedding, embedding_model, filters, worker_ids, outcome, created_by, created_at) "
            "SELECT query || ' copy', query_embedding, embedding_model, filters, worker_ids, outcome, created_by, created_at - interval '400 days' "
            "FROM playbooks_playbook ORDER BY id LIMIT 2"
        )
    assert _assert_counter_is_the_count() == 5

    Playbook.objects.filter(pk=Playbook.objects.order_by("-id").values("id")[:1]).delete()  # an admin delete
    assert _assert_counter_is_the_count() == 4

    assert archive_playbooks(older_than=timezone.now() - timedelta(days=300)) == 1  # the older copy left
    assert _assert_counter_is_the_count() == 3

    reset_index("playbook_memory")  # TRUNCATE
    assert _assert_counter_is_the_count() == 0
    assert _record(workers[1:3])["index"]["size"] == 1


def test_a_record_reads_the_counter_instead_of_counting_the_memory(search_corpus):
    workers = list(Worker.objects.order_by("worker_id").values_list("worker_id", flat=True)[:2])
    _record(workers)
    with CaptureQueriesContext(connection) as queries:
        body = _record(workers, "line cook weekend")
    assert body["index"]["size"] == 2
    assert not [q["sql"] for q in queries.captured_queries if "count(" in q["sql"].lower()]


def test_a_registry_row_created_after_the_rows_counts_them_once(search_corpus):
    """A flushed database (a test's TRUNCATE) loses the registry row while the table may hold rows: the
    record's version bump recreates the row, counting the table once, and the trigger keeps it after."""
    workers = list(Worker.objects.order_by("worker_id").values_list("worker_id", flat=True)[:2])
    _record(workers)
    VectorIndex.objects.filter(name="playbook_memory").delete()
    assert _record(workers, "cna nights")["index"]["size"] == 2
    assert _record(workers, "cna days")["index"]["size"] == 3
    assert _assert_counter_is_the_count() == 3


def test_an_index_without_a_counter_is_refused_before_it_is_bumped(search_corpus):
    before = VectorIndex.objects.get(name="workers").version
    with pytest.raises(ValueError, match="keeps no row count"):
        bump_counted_index_version("workers")
    assert VectorIndex.objects.get(name="workers").version == before
