from django.db import models


class OrderStatus(models.TextChoices):
    OPEN = "open", "open"
    FILLED = "filled", "filled"
    CANCELLED = "cancelled", "cancelled"


class ProposalStatus(models.TextChoices):
    PROPOSED = "proposed", "proposed"
    ACCEPTED = "accepted", "accepted"
    REJECTED = "rejected", "rejected"


class Shift(models.TextChoices):
    DAY = "day", "day"
    SWING = "swing", "swing"
    NIGHT = "night", "night"
    WEEKEND = "weekend", "weekend"
