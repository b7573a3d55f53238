from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _ensure_registry_rows(**kwargs: Any) -> None:
    """Registry rows exist once the schema does, so reads (selectors, the admin list) never create them."""
    from apps.indexes.services import ensure_all_vector_indexes

    ensure_all_vector_indexes()


class IndexesConfig(AppConfig):
    name = "apps.indexes"
    label = "indexes"
    verbose_name = "Vector indexes"

    def ready(self) -> None:
        from apps.core.job_kinds import JobKind, register_job_kind
        from apps.indexes.services import relaunch_index_job

        register_job_kind(
            JobKind(
                name="index", model_label="indexes.IndexJob", task_name="apps.indexes.tasks.index_job_task",
                idempotent=True, cancel_running=False, relaunch=relaunch_index_job,
                not_cancellable_reason="a rebuild or re-embed is writing the index; stopping it half-way would leave a mix of old and new vectors. Let it finish (it is safe to re-run).",
            )
        )
        # Once, after every app has migrated (and after a test flush, which re-sends post_migrate).
        post_migrate.connect(_ensure_registry_rows, sender=self, dispatch_uid="indexes.ensure_registry_rows")
