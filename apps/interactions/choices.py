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
    # Decisions on orders (SPEC §4.8a step 6): the audit trail, written by apps.orders.services in the
    # transaction of the decision itself.
    PROPOSAL_CREATED = "proposal_created", "proposal created"
    PROPOSAL_ACCEPTED = "proposal_accepted", "proposal accepted"
    PROPOSAL_REJECTED = "proposal_rejected", "proposal rejected"
    ORDER_CANCELLED = "order_cancelled", "order cancelled"
    ASSIGNMENT_ENDED = "assignment_ended", "assignment ended"
    DO_NOT_ASSIGN_ADDED = "do_not_assign_added", "do-not-assign entry added"
    DO_NOT_ASSIGN_REMOVED = "do_not_assign_removed", "do-not-assign entry removed"


# Audit rows record who decided what; they are not workflow results, so the evidence materializer
# does not read them and feedback cannot judge them.
DECISION_KINDS = frozenset({
    InteractionKind.PROPOSAL_CREATED,
    InteractionKind.PROPOSAL_ACCEPTED,
    InteractionKind.PROPOSAL_REJECTED,
    InteractionKind.ORDER_CANCELLED,
    InteractionKind.ASSIGNMENT_ENDED,
    InteractionKind.DO_NOT_ASSIGN_ADDED,
    InteractionKind.DO_NOT_ASSIGN_REMOVED,
})
