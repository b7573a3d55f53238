"""The base of every list filter (SPEC §5): a malformed filter value is a 400, never ignored."""

from __future__ import annotations

import django_filters
from django_filters.rest_framework import DjangoFilterBackend

from apps.core.api.query import StrictQueryForm


class StrictFilterSet(django_filters.FilterSet):
    """A FilterSet whose form adds apps.core.api.query's checks (empty typed values, repeats, booleans
    that are neither true nor false); DjangoFilterBackend turns `errors` into the 400."""

    def get_form_class(self):
        form_class = super().get_form_class()
        return type(form_class.__name__, (StrictQueryForm, form_class), {})


class StrictFilterBackend(DjangoFilterBackend):
    """DjangoFilterBackend with StrictFilterSet as the base of `filterset_fields` filtersets; a view's
    own `filterset_class` must derive from it too, so no list endpoint is lenient by accident."""

    filterset_base = StrictFilterSet

    def get_filterset_class(self, view, queryset=None):
        filterset_class = super().get_filterset_class(view, queryset)
        if filterset_class is not None and not issubclass(filterset_class, StrictFilterSet):
            raise TypeError(f"{type(view).__name__}.filterset_class must derive from apps.core.api.filtersets.StrictFilterSet")
        return filterset_class
