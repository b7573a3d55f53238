from django.db import models


class InteractionKind(models.TextChoices):
    SEARCH = "search", "search"
    PROFILE_SWAP = "profile_swap", "profile swap"
    VALIDATE_EMAIL = "validate_email", "validate email"
    VALIDATE_SMS = "validate_sms", "validate SMS"
    VALIDATE_FILL = "validate_fill", "validate fill"
    PLAYBOOK_RECORD = "playbook_record", "playbook record"
    PLAYBOOK_SEARCH = "playbook_search", "playbook search"
    CHAT = "chat", "chat"
    FEEDBACK = "feedback", "feedback"
