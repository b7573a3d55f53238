import django_filters

from apps.core.api.filtersets import StrictFilterSet
from apps.interactions import selectors
from apps.interactions.choices import InteractionKind
from apps.interactions.models import Interaction


class InteractionFilterSet(StrictFilterSet):
    kind = django_filters.ChoiceFilter(choices=InteractionKind.choices)
    actor = django_filters.CharFilter()
    day = django_filters.DateFilter(field_name="occurred_at", lookup_expr="date")
    order = django_filters.CharFilter(method="about_order", max_length=64, help_text="an order's id (JO-…): the decisions on that order")
    worker = django_filters.CharFilter(method="about_worker", max_length=64, help_text="a worker's id: the decisions that name the worker")

    class Meta:
        model = Interaction
        fields = ["kind", "actor", "day", "order", "worker"]

    def about_order(self, queryset, name: str, value: str):
        return selectors.interactions_about(queryset, order_id=value)

    def about_worker(self, queryset, name: str, value: str):
        return selectors.interactions_about(queryset, worker_id=value)
