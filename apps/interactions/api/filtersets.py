import django_filters

from apps.core.api.filtersets import StrictFilterSet
from apps.interactions.choices import InteractionKind
from apps.interactions.models import Interaction


class InteractionFilterSet(StrictFilterSet):
    kind = django_filters.ChoiceFilter(choices=InteractionKind.choices)
    actor = django_filters.CharFilter()
    day = django_filters.DateFilter(field_name="occurred_at", lookup_expr="date")

    class Meta:
        model = Interaction
        fields = ["kind", "actor", "day"]
