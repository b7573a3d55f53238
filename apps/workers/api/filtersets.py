import django_filters

from apps.core.api.filtersets import StrictFilterSet
from apps.workers.choices import WorkerStatus
from apps.workers.models import IngestJob, Worker


class WorkerFilterSet(StrictFilterSet):
    city = django_filters.CharFilter(field_name="city", lookup_expr="iexact")
    state = django_filters.CharFilter(field_name="state", lookup_expr="iexact")
    role = django_filters.CharFilter(field_name="role")
    status = django_filters.ChoiceFilter(choices=WorkerStatus.choices)
    skill = django_filters.CharFilter(field_name="skills", lookup_expr="contains", method="filter_skill")
    certification = django_filters.CharFilter(method="filter_certification")

    class Meta:
        model = Worker
        fields = ["city", "state", "role", "status", "sms_opt_out"]

    def filter_skill(self, queryset, name, value):
        return queryset.filter(skills__contains=[value.strip().lower()])

    def filter_certification(self, queryset, name, value):
        return queryset.filter(certifications__contains=[value.strip()])


class IngestJobFilterSet(StrictFilterSet):
    class Meta:
        model = IngestJob
        fields = ["status", "format"]
