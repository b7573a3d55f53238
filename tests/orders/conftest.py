"""Fixtures shared by the orders tests."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.console_sessions import console_session


@pytest.fixture
def operator_console() -> Client:
    """A logged-in staff (operator) session on the console."""
    return console_session("console-op", staff=True)
