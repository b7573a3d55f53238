from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import PageNumberPagination

from apps.core.api.query import query_integer


class StandardPagination(PageNumberPagination):
    """`{"count", "next", "previous", "results"}`; `?page=` from 1, `?page_size=` from 1 to 500.

    Strict (apps.core.api.query): `?page_size=1.5`, `?page_size=900` or `?page=` is a 400 on that
    parameter, not the default page; a page past the last is DRF's 404. The schema states the bounds.
    """

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500

    def paginate_queryset(self, queryset, request, view=None):
        self._page_size, self._page_number = self.page_query(request)
        return super().paginate_queryset(queryset, request, view)

    def page_query(self, request) -> tuple[int, int]:
        """(page_size, page) of the request, both fields reported at once when both are wrong."""
        errors: dict[str, Any] = {}
        values = {}
        for name, default, maximum in (
            (self.page_size_query_param, self.page_size, self.max_page_size),
            (self.page_query_param, 1, None),
        ):
            try:
                values[name] = query_integer(request.query_params, name, default=default, minimum=1, maximum=maximum)
            except ValidationError as exc:
                errors.update(exc.detail)
        if errors:
            raise ValidationError(errors)
        return values[self.page_size_query_param], values[self.page_query_param]

    def get_page_size(self, request) -> int:
        return getattr(self, "_page_size", None) or self.page_query(request)[0]

    def get_page_number(self, request, paginator) -> int:
        return self._page_number

    def get_schema_operation_parameters(self, view) -> list[dict[str, Any]]:
        parameters = super().get_schema_operation_parameters(view)
        bounds = {self.page_query_param: {"minimum": 1}, self.page_size_query_param: {"minimum": 1, "maximum": self.max_page_size}}
        for parameter in parameters:
            parameter["schema"] = {**parameter["schema"], **bounds.get(parameter["name"], {})}
        return parameters


def page_parameters() -> list[OpenApiParameter]:
    """`page` and `page_size` with their bounds, for views that page by hand or in an action (the
    schema only asks the paginator of a viewset's own list)."""
    return [
        OpenApiParameter(p["name"], p["schema"], description=p["description"]) for p in StandardPagination().get_schema_operation_parameters(None)
    ]
