"""The search endpoint as the tests call it: POST, assert 200, return the body."""

from __future__ import annotations

from typing import Any


def search(client, **body: Any) -> dict[str, Any]:
    response = client.post("/api/v1/workers/search", body, format="json")
    assert response.status_code == 200, response.content
    return response.json()
