"""`manage.py migrate_locked`: `migrate` under a PostgreSQL advisory lock, so several nodes starting at
once against one database apply the migrations exactly once — the first takes the lock and migrates,
the others wait for it and then find nothing left to apply."""

from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

# An arbitrary 64-bit key shared by every Lakehouse node ("lakemigr" in ASCII).
MIGRATE_LOCK_KEY = 0x6C616B656D696772


class Command(BaseCommand):
    help = "Apply migrations while holding a PostgreSQL advisory lock (safe when several nodes start at once)."

    def handle(self, *args, **options) -> None:
        verbosity = options["verbosity"]
        with connection.cursor() as cursor:
            # Session-level: held across migrate's own transactions, released below or when the session ends.
            cursor.execute("SELECT pg_advisory_lock(%s)", [MIGRATE_LOCK_KEY])
        try:
            executor = MigrationExecutor(connection)
            pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
            call_command("migrate", interactive=False, verbosity=max(verbosity - 1, 0))
        finally:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [MIGRATE_LOCK_KEY])
        if verbosity >= 1:
            self.stdout.write(f"migrations applied by this process: {len(pending)}")
