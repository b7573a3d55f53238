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

        # Replay plugs into evidence (evidence imports nothing from replay): its finished runs are a
        # materializer source, and "Replay this evidence" is an action on the evidence records' list.
        from apps.evidence import registry
        from apps.evidence.choices import SourceKind
        from apps.replay.admin import may_replay, replay_selected
        from apps.replay.selectors import iter_replay_run_dicts

        registry.register_source(SourceKind.REPLAY_RUN.value, iter_replay_run_dicts)
        registry.register_record_action(replay_selected, allowed=may_replay)
