"""Reads of the interaction log (operators' API and console)."""

from __future__ import annotations

from django.db.models import QuerySet

from apps.interactions.models import Interaction


def interaction_list() -> QuerySet[Interaction]:
    """Newest first; `seq` breaks ties between rows written in the same instant."""
    return Interaction.objects.order_by("-occurred_at", "-seq")
