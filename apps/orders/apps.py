from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "apps.orders"
    label = "orders"
    verbose_name = "Job orders"

    def ready(self) -> None:
        from apps.core.job_kinds import JobKind, register_job_kind
        from apps.orders.services import relaunch_order_import_job

        register_job_kind(
            JobKind(
                name="orders", model_label="orders.OrderImportJob", task_name="apps.orders.tasks.import_orders_task",
                idempotent=True, cancel_running=True, relaunch=relaunch_order_import_job,
            )
        )
