from django.apps import AppConfig


class AlertsConfig(AppConfig):
    name = "apps.alerts"
    label = "alerts"
    verbose_name = "Alerts"

    def ready(self) -> None:
        from apps.alerts.services import on_job_finished
        from apps.core.jobs import job_finished

        job_finished.connect(on_job_finished, dispatch_uid="alerts.on_job_finished")
