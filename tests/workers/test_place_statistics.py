"""PostgreSQL's estimate for a city filter (migration 0008): a city lies in one state, so `state = …
AND city = …` keeps the city's rows, not the product of the two columns' shares. Underestimated, a
graph walk the app planned for a big city ran as a scan of every row in it and a sort. (Which path
the planner then takes depends on the table's size: at this corpus's 3,000 rows the sort is cheaper
than the graph's start-up cost, at 100k it is not — benchmarks/README.md, twelfth pass.)"""

from __future__ import annotations

from collections import Counter

import pytest
from django.db import connection

pytestmark = pytest.mark.django_db


def test_the_estimate_for_a_city_filter_is_the_citys_rows(search_corpus):
    (state, city), rows = Counter((m["state"], m["city"]) for m in search_corpus["meta"]).most_common(1)[0]
    assert rows >= len(search_corpus["ids"]) // 10  # a big city, whose state holds little else
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE workers_worker")  # the corpus was just ingested
        cursor.execute("EXPLAIN (FORMAT JSON) SELECT id FROM workers_worker WHERE state = %s AND city = %s", [state, city])
        estimated = cursor.fetchone()[0][0]["Plan"]["Plan Rows"]
    # Multiplied as independent columns, the estimate is the city's share of its own rows: ~7x too few.
    assert rows / 2 <= estimated <= rows * 2

