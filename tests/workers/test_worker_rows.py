"""`worker_rows` (apps.workers.selectors), the validators' plain-SQL lookup, against the real database:
it must return exactly what the ORM's `filter(...).values(...)` returns for the same ids, phones and
emails — same rows, same Python types — and nothing for no keys."""

from __future__ import annotations

import pytest
from django.db.models import Q

from apps.workers.models import Worker
from apps.workers.selectors import existing_worker_ids, worker_rows

pytestmark = pytest.mark.django_db

FIELDS = ("worker_id", "first_name", "city", "state", "role", "certifications", "shift_preference", "available_from", "status", "sms_opt_out", "phone", "email")


def _orm(ids, phones, emails):
    rows = Worker.objects.filter(Q(worker_id__in=ids) | Q(phone__in=phones) | Q(email__in=emails)).values(*FIELDS)
    return sorted(rows, key=lambda row: row["worker_id"])


def test_rows_match_the_orm_for_ids_phones_and_emails(search_corpus):
    workers = list(Worker.objects.exclude(phone="").exclude(email="").order_by("worker_id")[:6])
    ids = [workers[0].worker_id, workers[1].worker_id, "W-NOPE"]
    phones = [workers[2].phone]
    emails = [workers[3].email, "nobody@example.com"]

    rows = sorted(worker_rows(FIELDS, worker_ids=ids, phones=phones, emails=emails), key=lambda row: row["worker_id"])

    assert rows == _orm(ids, phones, emails)
    assert [row["worker_id"] for row in rows] == sorted(w.worker_id for w in workers[:4])
    assert isinstance(rows[0]["certifications"], list) and isinstance(rows[0]["sms_opt_out"], bool)


def test_no_keys_and_empty_strings_find_no_one(search_corpus):
    assert worker_rows(FIELDS) == []
    assert worker_rows(FIELDS, worker_ids=[""], phones=[""], emails=[""]) == []


def test_existing_ids_are_the_stored_ones(search_corpus):
    known = search_corpus["ids"][:3]
    assert existing_worker_ids([*known, "W-NOPE", known[0]]) == set(known)


def test_a_field_that_is_not_a_column_is_refused():
    with pytest.raises(ValueError, match="not a Worker column"):
        worker_rows(("worker_id", "password"), worker_ids=["W-1"])


def test_warming_the_search_index_walks_the_whole_graph(search_corpus):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from apps.workers.selectors import warm_search_index

    with CaptureQueriesContext(connection) as queries:
        reached = warm_search_index()
    assert reached == Worker.objects.exclude(embedding=None).count() > 1000  # every row the graph holds
    walk = [q["sql"] for q in queries.captured_queries if "ORDER BY embedding <=>" in q["sql"]]
    assert len(walk) == 1
    with connection.cursor() as cursor:  # the same statement, explained: the HNSW index, not a sort
        cursor.execute("SET enable_seqscan = off; SET enable_sort = off")
        cursor.execute("EXPLAIN " + walk[0])
        plan = "\n".join(row[0] for row in cursor.fetchall())
        cursor.execute("RESET enable_seqscan; RESET enable_sort")
    assert "worker_embedding_hnsw" in plan
