"""Django's PostgreSQL backend, with a pooled connection checked without a round trip when it is idle.

psycopg_pool's stock check (`ConnectionPool.check_connection`, what Django installs for
CONN_HEALTH_CHECKS) sends an empty query every time a connection is handed out: one extra round trip
per request for the web process and one extra statement for PostgreSQL (issue 18). A connection that
the server closed — a restart, a crash, an administrator's terminate — has something to read on its
socket (the termination notice, or end-of-file) while it sits idle in the pool. So a connection whose
socket is quiet is handed out as it is, and only one with pending input gets the full check, which
raises for a dead connection (the pool then replaces it) and passes for a live one.

In web processes a pooled connection is also warmed once, when the pool opens it (in the pool's background thread,
before any request gets it): it reads the workers table's heap and its coordinate index. PostgreSQL's
shared buffers are shared memory that each backend maps page by page on first touch, so a new
backend's first search over an area it never read paid ~1–2 µs per 4 kB page: a 10-mile radius over
Philadelphia took 27 ms on a fresh backend and 12 ms on a warmed one (issue 19).

The pool hands out the connection returned last (`LastUsedFirstPool`), so the connections in use
stay warm.

Django passes the pool its `check` itself (stock or none), so this backend swaps it (and the pool's
class) on the pool it built; `ENGINE = "lakehouse.postgresql"` selects it, and everything else is
Django's backend.
"""

from __future__ import annotations

import select

from django.conf import settings
from django.db.backends.postgresql import base
from psycopg import Connection, OperationalError, pq
from psycopg_pool import ConnectionPool


def check_pooled_connection(conn: Connection) -> None:
    """Return quietly for a usable connection; raise for one the pool must replace."""
    if conn.closed or conn.pgconn.status != pq.ConnStatus.OK:
        raise OperationalError("the pooled connection is closed")
    try:
        readable, _, _ = select.select([conn.pgconn.socket], [], [], 0)
    except (OSError, ValueError, OperationalError):
        readable = [True]  # no usable socket: let the full check decide
    if readable:
        ConnectionPool.check_connection(conn)


# Reads every heap page of the workers table (through a column no index holds) and the
# B-trees that radius and city searches walk; a no-op before the table exists (a fresh database).
WARM_SQL = """
DO $$
BEGIN
    IF to_regclass('workers_worker') IS NOT NULL THEN
        PERFORM sum(length(first_name)) FROM workers_worker;  -- an unindexed column: a heap scan
        PERFORM set_config('enable_seqscan', 'off', true);  -- this statement only: walk the indexes
        PERFORM count(*) FROM workers_worker WHERE latitude > -91;
        PERFORM count(*) FROM workers_worker WHERE state > '';
    END IF;
END
$$
"""


class LastUsedFirstPool(ConnectionPool):
    """psycopg_pool's pool, handing out the connection returned last instead of the one idle longest.

    The stock pool is a queue: one client's sequential requests went round every pooled connection in
    turn, each to a backend whose memory had gone cold meanwhile. The same kNN query took 2.7–3.2 ms
    on four backends in turn and 2.5 ms on one (issue 18). Under full load every connection is busy
    and the order makes no difference; below it, the connections in use stay warm, and the ones left
    idle are the ones the pool closes first when it shrinks (it takes those from the front).
    """

    def _get_ready_connection(self, timeout: float | None) -> Connection | None:
        # Called with the pool's lock held; the stock method takes from the front.
        if self._pool:
            self._pool.rotate(1)
        return super()._get_ready_connection(timeout)


class DatabaseWrapper(base.DatabaseWrapper):
    def _configure_connection(self, connection):
        # With the pool on, only the pool calls this, once per new connection (Django configures an
        # unpooled connection itself on every connect, which must stay cheap). Web processes only
        # (DB_WARM_CONNECTIONS, set by lakehouse.run): Celery's prefork workers close their pool
        # around every task, and warming there cost ~0.4 of a core under load.
        commit = super()._configure_connection(connection)
        if settings.DB_WARM_CONNECTIONS and self.settings_dict["OPTIONS"].get("pool"):
            connection.execute(WARM_SQL)
        return commit

    @property
    def pool(self):
        pool = super().pool
        if type(pool) is ConnectionPool:  # built by Django; the subclass adds behaviour, not state
            pool.__class__ = LastUsedFirstPool
        # psycopg_pool keeps the callable as `_check` (pinned in requirements.txt); tests/core/test_pool_check.py
        # fails if a new version stops calling it.
        if pool is not None and pool._check is ConnectionPool.check_connection:
            pool._check = check_pooled_connection
        return pool
