import django_filters

from apps.core.api.filtersets import StrictFilterSet
from apps.evidence import transforms
from apps.evidence.choices import MaterializeMode, MaterializeStatus, SourceKind
from apps.evidence.models import EvidenceRecord, MaterializeRun

_RECORD_TRANSFORMS = [(t.name, t.name) for t in transforms.REGISTRY.values() if not t.is_enrichment]
_TASK_TYPES = sorted({(t.task_type, t.task_type) for t in transforms.REGISTRY.values() if t.task_type})


class EvidenceRecordFilterSet(StrictFilterSet):
    day = django_filters.DateFilter()
    task_type = django_filters.ChoiceFilter(choices=_TASK_TYPES)
    transform = django_filters.ChoiceFilter(choices=_RECORD_TRANSFORMS)
    source_kind = django_filters.ChoiceFilter(choices=SourceKind.choices)
    ok = django_filters.BooleanFilter(field_name="verdict_ok")

    class Meta:
        model = EvidenceRecord
        fields = ["day", "task_type", "transform", "source_kind", "ok"]


class MaterializeRunFilterSet(StrictFilterSet):
    status = django_filters.ChoiceFilter(choices=MaterializeStatus.choices)
    mode = django_filters.ChoiceFilter(choices=MaterializeMode.choices)

    class Meta:
        model = MaterializeRun
        fields = ["status", "mode"]
