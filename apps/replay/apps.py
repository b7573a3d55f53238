from django.apps import AppConfig


class ReplayConfig(AppConfig):
    name = "apps.replay"
    label = "replay"
    verbose_name = "Replay"

    def ready(self) -> None:
        from apps.core.job_kinds import JobKind, register_job_kind
        from apps.replay.services import relaunch_batch

        register_job_kind(
            JobKind(
                name="replay", model_label="replay.ReplayBatch", task_name="apps.replay.tasks.replay_batch_task",
                idempotent=False, cancel_running=True, relaunch=relaunch_batch,
            )
        )

        from apps.providers.chat import register_chat_provider
        from apps.replay.local_drafter import local_chat

        register_chat_provider("local", local_chat)
