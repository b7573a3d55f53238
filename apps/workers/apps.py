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
        from apps.workers.models import WORKER_EMBEDDING_INDEX
        from apps.workers.services import reembed_workers

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
