import us
from django.db import models

from apps.workers.vocabulary import ROLES, role_label


class OrderStatus(models.TextChoices):
    OPEN = "open", "open"
    FILLED = "filled", "filled"
    CANCELLED = "cancelled", "cancelled"


class ProposalStatus(models.TextChoices):
    PROPOSED = "proposed", "proposed"
    ACCEPTED = "accepted", "accepted"
    REJECTED = "rejected", "rejected"


class AssignmentEndReason(models.TextChoices):
    NO_SHOW = "no_show", "no show"
    DECLINED = "declined", "declined"
    COMPLETED = "completed", "completed"
    CLIENT_REQUEST = "client_request", "client request"


# A no-show or a decline leaves the seat empty: the order needs someone else (and the playbook learns).
SEAT_FREEING_REASONS = frozenset({AssignmentEndReason.NO_SHOW, AssignmentEndReason.DECLINED})


def client_key(name: str) -> str:
    """The identity of a client name: trimmed, inner whitespace collapsed, case-folded."""
    return " ".join(str(name or "").split()).casefold()


class Shift(models.TextChoices):
    DAY = "day", "day"
    SWING = "swing", "swing"
    NIGHT = "night", "night"
    WEEKEND = "weekend", "weekend"


# SPEC §3.2: a real USPS code (states, DC and territories), and a role from the corpus vocabulary, so
# an order can only ask for what workers can match.
USPS_STATE_CHOICES: list[tuple[str, str]] = sorted((s.abbr, s.name) for s in us.states.STATES_AND_TERRITORIES)
ROLE_CHOICES: list[tuple[str, str]] = [(role, role_label(role)) for role in ROLES]

ORDER_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
ZIP_PATTERN = r"^\d{5}$"
