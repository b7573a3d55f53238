"""The pooled connection check (lakehouse/postgresql/base.py) on the real PostgreSQL: a healthy idle connection
is handed out without a round trip, one whose backend the server ended is refused (and replaced by the
pool). The whole web-process recovery after a restart is tests/core/test_outage.py."""

from __future__ import annotations

import psycopg
import pytest
from django.db import connection
from psycopg_pool import ConnectionPool

from lakehouse.postgresql.base import LastUsedFirstPool, check_pooled_connection

pytestmark = pytest.mark.django_db


def _connection_params() -> dict:
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    return params


def _connect() -> psycopg.Connection:
    return psycopg.connect(**_connection_params(), autocommit=True)


def _last_statement(observer: psycopg.Connection, pid: int) -> str:
    return observer.execute("SELECT query FROM pg_stat_activity WHERE pid = %s", [pid]).fetchone()[0]


def test_a_healthy_idle_connection_passes_without_a_statement():
    with _connect() as pooled, _connect() as observer:
        pooled.execute("SELECT 'last one' AS marker")
        check_pooled_connection(pooled)
        check_pooled_connection(pooled)
        # The stock check would have sent an empty query, and the backend would show it.
        assert _last_statement(observer, pooled.info.backend_pid) == "SELECT 'last one' AS marker"
        assert pooled.execute("SELECT 41 + 1").fetchone() == (42,)


def test_a_connection_the_server_ended_is_refused():
    with _connect() as pooled, _connect() as observer:
        pid = pooled.info.backend_pid
        # With a timeout the call returns once the backend has exited (its socket closed); without one it
        # returns at the signal, and the check could still find the connection open (a CI flake).
        assert observer.execute("SELECT pg_terminate_backend(%s, 5000)", [pid]).fetchone() == (True,)
        with pytest.raises(psycopg.OperationalError):
            check_pooled_connection(pooled)


def test_a_closed_connection_is_refused():
    pooled = _connect()
    pooled.close()
    with pytest.raises(psycopg.OperationalError):
        check_pooled_connection(pooled)


def test_djangos_pool_hands_out_connections_through_this_check():
    pool = connection.pool
    if pool is None:
        pytest.fail("the suite runs with DB_POOL on, as production does")
    assert pool._check is check_pooled_connection
    assert type(pool) is LastUsedFirstPool


@pytest.mark.parametrize("warm", [True, False])
def test_a_new_pooled_connection_is_warmed_only_where_asked(settings, warm):
    """The web server turns DB_WARM_CONNECTIONS on (lakehouse.run.web_env); everywhere else a new
    pooled connection is only configured, as Django does."""
    settings.DB_WARM_CONNECTIONS = warm
    with _connect() as pooled, _connect() as observer:
        connection._configure_connection(pooled)
        pooled.commit()
        assert ("to_regclass('workers_worker')" in _last_statement(observer, pooled.info.backend_pid)) is warm


@pytest.mark.parametrize("pool_class, handed_out", [(LastUsedFirstPool, "third, third"), (ConnectionPool, "first, second")])
def test_the_pool_hands_out_the_connection_returned_last(pool_class, handed_out):
    """One client's sequential requests keep one warm backend instead of going round them all; the
    stock pool, for contrast, hands out the one idle longest."""
    with pool_class(kwargs={**_connection_params(), "autocommit": True}, min_size=3, max_size=3, open=True) as pool:
        pool.wait(timeout=10)
        conns = {"first": pool.getconn(), "second": pool.getconn(), "third": pool.getconn()}
        for conn in conns.values():
            pool.putconn(conn)
        for name in handed_out.split(", "):  # two requests, one after the other
            conn = pool.getconn()
            assert conn is conns[name]
            pool.putconn(conn)
