from __future__ import annotations

from rest_framework import serializers

from apps.core.api.serializers import StrictSerializer
from apps.workers.api.serializers import SearchFiltersSerializer


class SearchRequestSerializer(StrictSerializer):
    """Shape and bounds; `apps.workers.search.search_request_from_dict` turns the validated dict into
    a normalized `SearchRequest`."""

    query = serializers.CharField(max_length=1000, allow_blank=False, trim_whitespace=True)
    k = serializers.IntegerField(required=False, default=10, min_value=1, max_value=100)
    filters = SearchFiltersSerializer(required=False, default=dict)
    exclude_ids = serializers.ListField(
        child=serializers.CharField(max_length=64), required=False, default=list, max_length=1000
    )
    use_playbook = serializers.BooleanField(required=False, default=False)
    explain = serializers.BooleanField(required=False, default=False)
