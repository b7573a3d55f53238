from django.apps import AppConfig


class WorkersConfig(AppConfig):
    name = "apps.workers"
    label = "workers"
    verbose_name = "Workers"

    def ready(self) -> None:
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
