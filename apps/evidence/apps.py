from django.apps import AppConfig


class EvidenceConfig(AppConfig):
    name = "apps.evidence"
    label = "evidence"
    verbose_name = "Evidence"

    def ready(self) -> None:
        from apps.core.job_kinds import JobKind, register_job_kind
        from apps.evidence.retention import relaunch_retention_run
        from apps.evidence.services import relaunch_materialize_run

        register_job_kind(
            JobKind(
                name="materialize", model_label="evidence.MaterializeRun", task_name="apps.evidence.tasks.materialize_task",
                idempotent=True, cancel_running=False, relaunch=relaunch_materialize_run,
                not_cancellable_reason="it is writing evidence partitions and its receipt; stopping it half-way would leave a receipt that does not match the files. Let it finish.",
            )
        )
        register_job_kind(
            JobKind(
                name="retention", model_label="evidence.RetentionRun", task_name="apps.evidence.tasks.retention_task",
                idempotent=True, cancel_running=True, relaunch=relaunch_retention_run,
            )
        )
