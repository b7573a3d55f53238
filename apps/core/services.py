"""Writes of the core app: the role groups, users and their API tokens."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.db import transaction
from django.db.models import Q
from rest_framework.authtoken.models import Token

from apps.core.roles import COORDINATOR_EXTRA_PERMISSIONS, COORDINATORS, OPERATORS, PROJECT_APP_LABELS


def ensure_role_groups() -> tuple[Group, Group]:
    """Create `coordinators` and `operators` and give them their model permissions (idempotent; run
    after every migrate, when Django has created the permissions)."""
    coordinators, _ = Group.objects.get_or_create(name=COORDINATORS)
    operators, _ = Group.objects.get_or_create(name=OPERATORS)
    ours = Permission.objects.filter(content_type__app_label__in=PROJECT_APP_LABELS)
    operators.permissions.set(ours)
    extra = Q()
    for dotted in COORDINATOR_EXTRA_PERMISSIONS:
        app_label, codename = dotted.split(".")
        extra |= Q(content_type__app_label=app_label, codename=codename)
    coordinators.permissions.set(ours.filter(Q(codename__startswith="view_") | extra))
    return coordinators, operators


@transaction.atomic
def issue_api_token(
    *, username: str, staff: bool = False, coordinator_console: bool = False, password: str | None = None
) -> tuple[object, str]:
    """Create the user if needed, give it its role, make sure it has a token.

    `staff` makes an operator (superuser, console access, `operators` group); otherwise the user is a
    coordinator (`coordinators` group), who may also open the console with `coordinator_console`.
    Returns (user, token key). Re-running is idempotent: the same user keeps the same token. A given
    password is (re)set, so `make run` can print working admin credentials.
    """
    User = get_user_model()
    user, created = User.objects.get_or_create(username=username)
    changed = created
    if staff and not (user.is_staff and user.is_superuser):
        user.is_staff = user.is_superuser = True
        changed = True
    if coordinator_console and not user.is_staff:
        user.is_staff = True
        changed = True
    if password is not None and not user.check_password(password):
        user.set_password(password)
        changed = True
    elif created:
        user.set_unusable_password()
    if changed:
        user.save()
    coordinators, operators = Group.objects.get_or_create(name=COORDINATORS)[0], Group.objects.get_or_create(name=OPERATORS)[0]
    user.groups.add(operators if user.is_superuser else coordinators)
    token, _ = Token.objects.get_or_create(user=user)
    return user, token.key
