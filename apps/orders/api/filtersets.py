import django_filters

from apps.core.api.filtersets import StrictFilterSet
from apps.orders.choices import client_key
from apps.orders.models import DoNotAssign


class DoNotAssignFilterSet(StrictFilterSet):
    client = django_filters.CharFilter(method="filter_client", help_text="a client name, in any case and spacing")
    worker_id = django_filters.CharFilter()

    class Meta:
        model = DoNotAssign
        fields = ["client", "worker_id"]

    def filter_client(self, queryset, name, value):
        return queryset.filter(client__key=client_key(value))
