from django.apps import AppConfig


class ConsoleConfig(AppConfig):
    """The console's composed pages: each reaches across several apps below it, so it lives above them
    all. The pages hang on the lower apps' admin pages through `apps.core.admin_extensions`."""

    name = "apps.console"
    label = "console"
    verbose_name = "Console"

    def ready(self) -> None:
        from apps.console.order_fill import fill_view
        from apps.console.worker_search import rank_workers
        from apps.core.admin_extensions import register_list_search, register_record_view

        register_record_view("orders.joborder", slug="fill", view=fill_view, label="Fill this order", dom_id="fill-order-link")
        register_list_search("workers.worker", rank_workers)
