"""OPTIONS answers for every endpoint.

DRF's SimpleMetadata describes a POST/PUT body by instantiating the view's serializer; a generic view
that writes its bodies by hand (no serializer_class) made OPTIONS a 500. Such a view is described
without "actions" instead.
"""

from __future__ import annotations

from rest_framework.metadata import SimpleMetadata


def _has_serializer(view) -> bool:
    # Imported here: rest_framework.generics imports views, whose APIView loads this class from settings.
    from rest_framework.generics import GenericAPIView

    if getattr(view, "serializer_class", None) is not None:
        return True
    return type(view).get_serializer_class is not GenericAPIView.get_serializer_class


class LakehouseMetadata(SimpleMetadata):
    def determine_actions(self, request, view):
        if not _has_serializer(view):
            return {}
        return super().determine_actions(request, view)
