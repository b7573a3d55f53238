"""Domain errors (apps.core.errors) reach clients in the one envelope with their own status."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from apps.core.api.errors import exception_handler
from apps.core.errors import Conflict, DependencyDown, DomainError, InvalidInput, NotFound


@pytest.mark.parametrize(
    "error, status, code",
    [
        (InvalidInput("Bad path.", code="path_not_allowed", fields={"path": ["outside the data dir"]}), 400, "path_not_allowed"),
        (InvalidInput("Bad."), 400, "invalid"),
        (NotFound("No such thing."), 404, "not_found"),
        (Conflict("Busy.", code="index_busy"), 409, "index_busy"),
        (DependencyDown("Redis is down."), 503, "service_unavailable"),
        (DomainError("Something else."), 400, "error"),
    ],
)
def test_each_domain_error_maps_to_its_status_in_the_envelope(error, status, code):
    response = exception_handler(error, {})
    assert response.status_code == status
    assert response.data == {"error": {"code": code, "message": error.message, "fields": error.fields}}


def test_the_errors_module_imports_no_drf_or_django():
    code = (
        "import sys\nimport apps.core.errors\n"
        "leaked = sorted(name for name in sys.modules if name.split('.')[0] in ('django', 'rest_framework'))\n"
        "assert not leaked, leaked\n"
    )
    root = Path(__file__).resolve().parents[2]
    result = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_no_service_raises_http_exceptions():
    # (apps.core.services may use DRF's Token *model*; what services must not touch is the HTTP layer.)
    root = Path(__file__).resolve().parents[2] / "apps"
    http_layer = ("rest_framework.exceptions", "from rest_framework import", "apps.core.api")
    offenders = [
        str(path) for path in root.glob("*/services.py") if any(name in path.read_text(encoding="utf-8") for name in http_layer)
    ]
    assert offenders == []
