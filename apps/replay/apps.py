from django.apps import AppConfig


class ReplayConfig(AppConfig):
    name = "apps.replay"
    label = "replay"
    verbose_name = "Replay"

    def ready(self) -> None:
        from apps.providers.chat import register_chat_provider
        from apps.replay.local_drafter import local_chat

        register_chat_provider("local", local_chat)
