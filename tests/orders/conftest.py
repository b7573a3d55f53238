"""Fixtures shared by the orders tests."""

from __future__ import annotations

import pytest
from django.test import Client

from apps.core.services import issue_api_token


@pytest.fixture
def operator_console() -> Client:
    """A logged-in staff (operator) session on the console."""
    user, _ = issue_api_token(username="console-op", staff=True)
    client = Client()
    client.force_login(user)
    return client
