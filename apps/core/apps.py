from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _ensure_role_groups(sender, **kwargs) -> None:
    from apps.core.services import ensure_role_groups

    ensure_role_groups()


class CoreConfig(AppConfig):
    name = "apps.core"
    label = "core"
    verbose_name = "Lakehouse core"

    def ready(self) -> None:
        # After each app's migrate (and after a test flush) its permissions exist; the groups get them.
        # No sender: the core app migrates before the apps whose permissions the groups hold.
        post_migrate.connect(_ensure_role_groups, dispatch_uid="core.ensure_role_groups")
        from apps.core import worker_signals  # noqa: F401  (connects the Celery signal handlers)
