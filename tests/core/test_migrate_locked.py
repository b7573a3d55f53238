"""`manage.py migrate_locked` waits for the advisory lock another node holds, then migrates (here:
nothing left). Two real nodes starting at once are checked by `make test-cluster`."""

from __future__ import annotations

import io
import threading
import time

from django.core.management import call_command
from django.db import connection, connections

from apps.core.management.commands.migrate_locked import MIGRATE_LOCK_KEY


def _waiting_on_the_lock() -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
            " AND ((classid::bigint << 32) | objid::bigint) = %s",
            [MIGRATE_LOCK_KEY],
        )
        return cursor.fetchone()[0] == 1


def test_migrate_locked_waits_for_the_node_holding_the_lock(transactional_db) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s)", [MIGRATE_LOCK_KEY])  # "another node" is migrating
    out = io.StringIO()

    def second_node() -> None:
        try:
            call_command("migrate_locked", stdout=out)
        finally:
            connections.close_all()

    thread = threading.Thread(target=second_node)
    thread.start()
    try:
        deadline = time.monotonic() + 60
        while not _waiting_on_the_lock():
            assert time.monotonic() < deadline, "migrate_locked never asked for the advisory lock"
            time.sleep(0.05)
        assert thread.is_alive() and out.getvalue() == ""  # blocked, not migrating alongside
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [MIGRATE_LOCK_KEY])
    thread.join(timeout=120)
    assert not thread.is_alive()
    assert "migrations applied by this process: 0" in out.getvalue()
