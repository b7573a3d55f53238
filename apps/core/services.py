"""Writes of the core app: users and their API tokens."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db import transaction
from rest_framework.authtoken.models import Token


@transaction.atomic
def issue_api_token(*, username: str, staff: bool = False, password: str | None = None) -> tuple[object, str]:
    """Create the user if needed (staff → is_staff and is_superuser), make sure it has a token.

    Returns (user, token key). Re-running is idempotent: the same user keeps the same token. A given
    password is (re)set, so `make run` can print working admin credentials.
    """
    User = get_user_model()
    user, created = User.objects.get_or_create(username=username)
    changed = created
    if staff and not (user.is_staff and user.is_superuser):
        user.is_staff = user.is_superuser = True
        changed = True
    if password is not None and not user.check_password(password):
        user.set_password(password)
        changed = True
    elif created:
        user.set_unusable_password()
    if changed:
        user.save()
    token, _ = Token.objects.get_or_create(user=user)
    return user, token.key
