"""Domain errors: what a service says went wrong, in words that mean something outside HTTP.

Services raise these; ``apps.core.api.errors`` maps them to the envelope (400/404/409/503) and the
admin shows them as messages. No DRF import here, so any layer can raise them.
"""

from __future__ import annotations


class DomainError(Exception):
    """Base of every domain error: a message, a machine-readable code and optional field errors."""

    default_code = "error"

    def __init__(self, message: str, *, code: str | None = None, fields: dict[str, list[str]] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code
        self.fields = fields or {}

    def __str__(self) -> str:
        return self.message


class InvalidInput(DomainError):
    """The caller gave something we cannot act on (400); ``fields`` names the culprits."""

    default_code = "invalid"


class NotFound(DomainError):
    """The thing asked for does not exist (404)."""

    default_code = "not_found"


class Conflict(DomainError):
    """The thing exists but is busy or in the wrong state for this (409)."""

    default_code = "conflict"


class DependencyDown(DomainError):
    """Something we rely on (database, Redis, a model provider) is unavailable (503)."""

    default_code = "service_unavailable"
