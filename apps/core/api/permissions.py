"""Roles (SPEC §5): coordinators search, validate, record and read runs; staff also ingest,
materialize, replay and operate indexes. A coordinator is any active authenticated user; staff is
Django's `is_staff`."""

from __future__ import annotations

from rest_framework.permissions import BasePermission, SAFE_METHODS


def role_of(user) -> str:
    return "staff" if user.is_staff else "coordinator"


class IsCoordinator(BasePermission):
    message = "Authentication as a coordinator or staff member is required."

    def has_permission(self, request, view) -> bool:
        return bool(request.user and request.user.is_authenticated and request.user.is_active)


class IsStaff(BasePermission):
    message = "This operation is for staff only."

    def has_permission(self, request, view) -> bool:
        return bool(request.user and request.user.is_authenticated and request.user.is_staff)


class IsStaffOrReadOnly(BasePermission):
    """Coordinators read; staff write."""

    message = "Only staff may change this resource."

    def has_permission(self, request, view) -> bool:
        if not (request.user and request.user.is_authenticated):
            return False
        return request.method in SAFE_METHODS or request.user.is_staff
