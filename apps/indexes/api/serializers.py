from rest_framework import serializers

from apps.core.api.serializers import StrictSerializer

from apps.indexes.choices import IndexJobKind, IndexState, JobStatus


class IndexJobSerializer(serializers.Serializer):
    job_id = serializers.IntegerField()
    index = serializers.CharField()
    kind = serializers.ChoiceField(choices=IndexJobKind.values)
    status = serializers.ChoiceField(choices=JobStatus.values)
    task_id = serializers.CharField(allow_blank=True)
    progress = serializers.FloatField()
    rows_done = serializers.IntegerField()
    rows_total = serializers.IntegerField()
    only_missing = serializers.BooleanField(help_text="a re-embed of only the rows whose vector is not from the current model")
    error = serializers.CharField(allow_blank=True)
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)


class HnswParametersSerializer(serializers.Serializer):
    m = serializers.IntegerField()
    ef_construction = serializers.IntegerField()


class VectorIndexSerializer(serializers.Serializer):
    """SPEC §5 index operations: one index (selectors.describe_index builds it)."""

    name = serializers.CharField()
    dim = serializers.IntegerField()
    metric = serializers.CharField()
    rows = serializers.IntegerField()
    size_bytes = serializers.IntegerField(help_text="the HNSW index")
    table_size_bytes = serializers.IntegerField(help_text="the table, its indexes and TOAST")
    hnsw = HnswParametersSerializer()
    version = serializers.IntegerField()
    state = serializers.ChoiceField(choices=IndexState.values)
    last_reset_at = serializers.DateTimeField(allow_null=True)
    last_rebuilt_at = serializers.DateTimeField(allow_null=True)
    last_job = IndexJobSerializer(allow_null=True)


class IndexReembedRequestSerializer(StrictSerializer):
    only_missing = serializers.BooleanField(
        required=False, default=False,
        help_text="only the rows whose vector is missing or from another model than the configured one (workers_semantic)",
    )
