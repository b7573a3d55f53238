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
    near = NearSerializer(required=False, allow_null=True, default=None)
