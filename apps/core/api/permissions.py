"""API permissions, derived from the role groups (apps.core.roles; SPEC §5). `is_staff` plays no part:
it only lets a user open the console."""

from __future__ import annotations

from rest_framework.permissions import SAFE_METHODS, BasePermission

from apps.core.roles import is_coordinator, is_operator


class IsCoordinator(BasePermission):
    """Coordinators and operators."""

    message = "This operation is for coordinators and operators."

    def has_permission(self, request, view) -> bool:
        return is_coordinator(request.user)


class IsOperator(BasePermission):
    message = "This operation is for operators only."

    def has_permission(self, request, view) -> bool:
        return is_operator(request.user)


class IsOperatorOrReadOnly(BasePermission):
    """Coordinators read; operators write."""

    message = "Only operators may change this resource."

    def has_permission(self, request, view) -> bool:
        if request.method in SAFE_METHODS:
            return is_coordinator(request.user)
        return is_operator(request.user)


# The names the API used before roles were groups ("staff" meant operators).
IsStaff = IsOperator
IsStaffOrReadOnly = IsOperatorOrReadOnly
