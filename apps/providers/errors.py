"""Errors raised by model providers.

Callers map them to API responses: `ProviderUnavailable` is a 503 (a dependency is down, try again
later), any other `ProviderError` is a configuration or request problem worth a clear message.
Messages never contain API keys: the HTTP layer redacts them before raising.
"""

from __future__ import annotations


class ProviderError(Exception):
    """A model provider failed; the message says which provider/URL and why."""

    def __init__(
        self,
        message: str,
        *,
        url: str | None = None,
        status: int | None = None,
        attempts: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.url = url
        self.status = status
        self.attempts = attempts


class ProviderUnavailable(ProviderError):
    """The provider could not be reached or kept failing (connection refused, timeouts, 429/5xx
    after all retries). Transient by nature: the API answers 503 with this message."""


class ProviderResponseError(ProviderError):
    """The provider answered, but not with what its API promises (not JSON, missing fields,
    wrong embedding dimension or count)."""
