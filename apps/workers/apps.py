import re

from django.apps import AppConfig


class WorkersConfig(AppConfig):
    name = "apps.workers"
    label = "workers"
    verbose_name = "Workers"

    def ready(self) -> None:
        from apps.core.job_kinds import JobKind, register_job_kind
        from apps.workers.services import relaunch_ingest_job

        register_job_kind(
            JobKind(
                name="ingest", model_label="workers.IngestJob", task_name="apps.workers.tasks.ingest_workers_task",
                idempotent=True, cancel_running=True, relaunch=relaunch_ingest_job,
            )
        )
        from apps.indexes.registry import VectorIndexSpec, register
        from apps.workers.models import WORKER_EMBEDDING_INDEX, WORKER_SEMANTIC_INDEX
        from apps.workers.services import clear_semantic_column, embed_semantic_column, reembed_workers, semantic_stale_rows, semantic_unavailable_reason

        register(
            VectorIndexSpec(
                name="workers",
                model_label="workers.Worker",
                column="embedding",
                index_name=WORKER_EMBEDDING_INDEX,
                reembed=reembed_workers,
                reset_needs_confirmation=True,
            )
        )
        # The optional semantic vector (issue 19) is its own vector index on the same table: its own
        # dim and HNSW index, re-embedded (all rows, or only those not from the current model) as an
        # index job with progress; a reset clears the column and keeps the corpus.
        register(
            VectorIndexSpec(
                name="workers_semantic",
                model_label="workers.Worker",
                column="semantic_embedding",
                index_name=WORKER_SEMANTIC_INDEX,
                reembed=embed_semantic_column,
                reset=clear_semantic_column,
                dim_setting="SEMANTIC_EMBEDDING_DIM",
                unavailable_reason=semantic_unavailable_reason,
                stale_rows=semantic_stale_rows,
            )
        )
        from django.db.backends.signals import connection_created

        connection_created.connect(_watch_worker_writes_on, dispatch_uid="workers-version-mirror")


# A statement that writes: it starts with a writing verb, or it is a WITH whose body writes (a
# data-modifying CTE). The kNN query is a `WITH candidates AS MATERIALIZED (SELECT …)` read: taken for
# a write, it dropped the mirror on every search, and the next search asked PostgreSQL for the version.
_WRITE_STATEMENT = re.compile(
    r"^\s*(?:INSERT|UPDATE|DELETE|TRUNCATE|MERGE)\b"
    r"|^\s*WITH\b.*\b(?:INSERT\s+INTO|UPDATE\s+\S+\s+SET|DELETE\s+FROM|MERGE\s+INTO)\b",
    re.IGNORECASE | re.DOTALL,
)


def writes_workers_table(sql: object) -> bool:
    """True for SQL that writes the workers table (a substring test first: most statements never name it)."""
    return isinstance(sql, str) and "workers_worker" in sql and _WRITE_STATEMENT.match(sql) is not None


def _watch_worker_writes_on(connection, **kwargs) -> None:
    """Every write to the workers table bumps the `workers` version through the table's trigger —
    admin edits, QuerySet.update, bulk_update, raw SQL through Django alike. Its Redis mirror must move
    with it (apps.indexes.version_mirror), so each connection watches the statements it runs: a write
    naming the table moves the mirror. Writes from outside Django show within INDEX_VERSION_MIRROR_TTL_S."""
    if _worker_write_watcher not in connection.execute_wrappers:
        connection.execute_wrappers.append(_worker_write_watcher)


def _worker_write_watcher(execute, sql, params, many, context):
    result = execute(sql, params, many, context)
    if writes_workers_table(sql):
        from apps.indexes.version_mirror import version_changing

        version_changing("workers")
    return result
