"""A logged-in console (Django admin) session for a user with a role, for the console tests."""

from __future__ import annotations

from django.test import Client

from apps.core.services import issue_api_token


def console_session(username: str, **role) -> Client:
    """A test client logged in as a new user created like the API's tokens create them (`staff=True` for an
    operator, `coordinator_console=True` for a coordinator)."""
    user, _ = issue_api_token(username=username, **role)
    client = Client()
    client.force_login(user)
    return client
