from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "apps.core"
    label = "core"
    verbose_name = "Lakehouse core"

    def ready(self) -> None:
        from apps.core import worker_signals  # noqa: F401  (connects the Celery signal handlers)
