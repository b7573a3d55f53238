from django.db import models


class Outcome(models.TextChoices):
    FILLED = "filled", "filled"
    DECLINED = "declined", "declined"
    NO_SHOW = "no_show", "no show"
