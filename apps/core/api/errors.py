"""The one error envelope of the API: {"error": {"code", "message", "fields"}}.

Domain errors raised by services (apps.core.errors), DRF's exceptions, Django's 404/500 handlers and dependency failures (database, Redis, model
providers) all end up here, so a client never has to parse two error shapes.
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import PermissionDenied, RequestDataTooBig, ValidationError as DjangoValidationError
from django.db import DatabaseError, DataError, InterfaceError, OperationalError
from django.http import Http404, HttpRequest, JsonResponse
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler, set_rollback

from apps.core.errors import Conflict, DependencyDown, DomainError, InvalidInput, NotFound

logger = logging.getLogger(__name__)


class ServiceUnavailable(exceptions.APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_code = "service_unavailable"
    default_detail = "A dependency is unavailable."


# Domain errors (apps.core.errors) raised by services, and the status each one answers with.
_DOMAIN_STATUS: tuple[tuple[type[DomainError], int], ...] = (
    (InvalidInput, status.HTTP_400_BAD_REQUEST),
    (NotFound, status.HTTP_404_NOT_FOUND),
    (Conflict, status.HTTP_409_CONFLICT),
    (DependencyDown, status.HTTP_503_SERVICE_UNAVAILABLE),
)


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "too_large"
    default_detail = "The request body is too large."


def _domain_response(exc: DomainError) -> Response:
    code = next((code for kind, code in _DOMAIN_STATUS if isinstance(exc, kind)), status.HTTP_400_BAD_REQUEST)
    set_rollback()  # what DRF's own handler does: no partial writes under ATOMIC_REQUESTS
    return Response(error_body(exc.code, exc.message, exc.fields), status=code)


def error_body(code: str, message: str, fields: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "fields": fields or {}}}


def _flatten(detail: Any) -> Any:
    """DRF ErrorDetail trees → plain lists of strings, keyed by field (nested keys joined with '.')."""
    if isinstance(detail, dict):
        return {str(k): _flatten(v) for k, v in detail.items()}
    if isinstance(detail, list):
        if all(not isinstance(item, (dict, list)) for item in detail):
            return [str(item) for item in detail]
        return [_flatten(item) for item in detail]
    return [str(detail)]


def _validation_message(fields: dict[str, Any]) -> str:
    parts = []
    for name, messages in fields.items():
        first = messages[0] if isinstance(messages, list) and messages else messages
        if isinstance(first, dict):
            first = "invalid entries"
        parts.append(f"{name}: {first}" if name != "non_field_errors" else str(first))
    return "Invalid request. " + "; ".join(parts) if parts else "Invalid request."


def _dependency_error(exc: Exception) -> tuple[str, str] | None:
    """Name the dependency behind an exception that means 'something we rely on is down'."""
    from apps.providers.errors import ProviderUnavailable

    try:
        import redis

        redis_errors: tuple[type[BaseException], ...] = (redis.ConnectionError, redis.TimeoutError)
    except ImportError:  # pragma: no cover - redis is a hard dependency
        redis_errors = ()
    try:
        from kombu.exceptions import OperationalError as KombuOperationalError

        redis_errors += (KombuOperationalError,)
    except ImportError:  # pragma: no cover
        pass
    if isinstance(exc, ProviderUnavailable):
        return "provider_unavailable", f"Model provider unavailable: {exc}"
    if isinstance(exc, redis_errors):
        return "redis_unavailable", f"Redis is unavailable: {exc}"
    if isinstance(exc, (OperationalError, InterfaceError)) and _is_connection_failure(exc):
        return "database_unavailable", f"The database is unavailable: {exc}"
    try:
        from psycopg_pool import PoolTimeout

        if isinstance(exc, PoolTimeout):
            return "database_unavailable", f"No database connection available: {exc}"
    except ImportError:  # pragma: no cover
        pass
    return None


def _is_connection_failure(exc: Exception) -> bool:
    """Django files many server errors under OperationalError; only connection trouble (no SQLSTATE:
    could not connect; class 08 connection exception; 57P operator intervention; 53 insufficient
    resources) means the database is down rather than that our SQL is wrong."""
    sqlstate = getattr(exc.__cause__, "sqlstate", None)
    return sqlstate is None or sqlstate.startswith(("08", "57P", "53"))


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, DomainError):
        return _domain_response(exc)
    if isinstance(exc, RequestDataTooBig):
        exc = PayloadTooLarge(str(exc) or None)
    elif isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(detail=exc.message_dict if hasattr(exc, "error_dict") else exc.messages)
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound(str(exc) or "Not found.")
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)

    dependency = _dependency_error(exc)
    if dependency is not None:
        code, message = dependency
        logger.warning("dependency down: %s", message)
        return Response(error_body(code, message), status=status.HTTP_503_SERVICE_UNAVAILABLE)

    if isinstance(exc, DataError):
        # SQLSTATE class 22 (data exception): a value the database cannot take — a NUL character,
        # a number out of range. The input was bad, not the server.
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else "invalid value"
        return Response(error_body("invalid", f"The database rejected a value in the request: {message}"), status=status.HTTP_400_BAD_REQUEST)

    response = drf_exception_handler(exc, context)
    if response is None:
        if isinstance(exc, DatabaseError):
            logger.exception("database error")
        return None  # a genuine bug: Django's 500 handler renders it in the envelope

    if isinstance(exc, exceptions.ValidationError):
        fields = _flatten(exc.detail)
        if not isinstance(fields, dict):
            fields = {"non_field_errors": fields}
        response.data = error_body("invalid", _validation_message(fields), fields)
    else:
        detail = exc.detail if isinstance(exc, exceptions.APIException) else str(exc)
        codes = exc.get_codes() if isinstance(exc, exceptions.APIException) else "error"
        code = codes if isinstance(codes, str) else getattr(exc, "default_code", "error")
        message = str(detail) if not isinstance(detail, (dict, list)) else str(_flatten(detail))
        response.data = error_body(str(code), message, getattr(exc, "fields", None))
    return response


def json_not_found(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return JsonResponse(error_body("not_found", f"No route for {request.path}."), status=404)


def json_server_error(request: HttpRequest) -> JsonResponse:
    return JsonResponse(error_body("server_error", "Internal server error."), status=500)


def json_bad_request(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    if isinstance(exception, RequestDataTooBig):  # a form/multipart body Django parsed itself
        return JsonResponse(error_body("too_large", "The request body is too large."), status=413)
    return JsonResponse(error_body("bad_request", "Bad request."), status=400)


def json_permission_denied(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return JsonResponse(error_body("permission_denied", "Permission denied."), status=403)
