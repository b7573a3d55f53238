from __future__ import annotations

from rest_framework import serializers

from apps.core.api.serializers import StrictSerializer
from apps.workers.api.serializers import SearchFiltersSerializer
from apps.workers.geo import zip_coordinates
from apps.workers.search import RADIUS_MAX_MILES, RADIUS_MIN_MILES


class NearSerializer(StrictSerializer):
    """Radius search (SPEC §4.3): a ZIP the `zipcodes` package knows and a radius in miles."""

    zip = serializers.RegexField(r"^\d{5}(-\d{4})?$", max_length=10)
    radius_miles = serializers.FloatField(min_value=RADIUS_MIN_MILES, max_value=RADIUS_MAX_MILES)

    def validate_zip(self, value: str) -> str:
        if zip_coordinates(value) is None:
            raise serializers.ValidationError(f"unknown ZIP {value!r}")
        return value


# Shape and bounds; `apps.workers.search.search_request_from_dict` turns the validated dict into a
# normalized `SearchRequest`.
class SearchRequestSerializer(StrictSerializer):

    query = serializers.CharField(max_length=1000, allow_blank=False, trim_whitespace=True)
    k = serializers.IntegerField(required=False, default=10, min_value=1, max_value=100)
    filters = SearchFiltersSerializer(required=False, default=dict)
    exclude_ids = serializers.ListField(
        child=serializers.CharField(max_length=64), required=False, default=list, max_length=1000
    )
    use_playbook = serializers.BooleanField(required=False, default=False)
    explain = serializers.BooleanField(required=False, default=False)
    client = serializers.CharField(required=False, allow_blank=True, max_length=200)  # its do-not-assign list is excluded
    near = NearSerializer(required=False, allow_null=True, default=None)


class SearchResultSerializer(serializers.Serializer):
    worker_id = serializers.CharField()
    score = serializers.FloatField(help_text="similarity plus β × playbook boost; results are sorted by it")
    distance = serializers.FloatField(help_text="cosine distance of the query and the worker's profile")
    playbook_boost = serializers.FloatField()
    miles = serializers.FloatField(required=False, help_text="only with near: great-circle miles from near.zip")
    worker = serializers.DictField(
        child=serializers.JSONField(), help_text="the worker's record (status, sms_opt_out, zip, contact and profile fields)"
    )
    explain = serializers.DictField(child=serializers.JSONField(), required=False, help_text="only with explain=true")


class SearchIndexUsedSerializer(serializers.Serializer):
    name = serializers.CharField()
    version = serializers.IntegerField()
    ef_search = serializers.IntegerField(allow_null=True)
    path = serializers.CharField()


class SearchResponseSerializer(serializers.Serializer):
    results = SearchResultSerializer(many=True)
    k = serializers.IntegerField()
    took_ms = serializers.FloatField()
    embedding_cache = serializers.CharField()
    result_cache = serializers.ChoiceField(choices=["hit", "miss"])
    index = SearchIndexUsedSerializer()
    playbooks_used = serializers.ListField(child=serializers.DictField(child=serializers.JSONField()))
    interaction_id = serializers.UUIDField(help_text="give it to POST /api/v1/evidence/feedback/ as target_id")
