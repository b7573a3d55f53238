"""Django's PostgreSQL backend, with a pooled connection checked without a round trip when it is idle.

psycopg_pool's stock check (`ConnectionPool.check_connection`, what Django installs for
CONN_HEALTH_CHECKS) sends an empty query every time a connection is handed out: one extra round trip
per request for the web process and one extra statement for PostgreSQL (issue 18). A connection that
the server closed — a restart, a crash, an administrator's terminate — has something to read on its
socket (the termination notice, or end-of-file) while it sits idle in the pool. So a connection whose
socket is quiet is handed out as it is, and only one with pending input gets the full check, which
raises for a dead connection (the pool then replaces it) and passes for a live one.

Django passes the pool its `check` itself (stock or none), so this backend swaps it on the pool it
built; `ENGINE = "lakehouse.postgresql"` selects it, and everything else is Django's backend.
"""

from __future__ import annotations

import select

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


class DatabaseWrapper(base.DatabaseWrapper):
    @property
    def pool(self):
        pool = super().pool
        # psycopg_pool keeps the callable as `_check` (pinned in requirements.txt); tests/core/test_pool_check.py
        # fails if a new version stops calling it.
        if pool is not None and pool._check is ConnectionPool.check_connection:
            pool._check = check_pooled_connection
        return pool
