"""DRF's exception handler: every error the API raises becomes problem details. Domain errors
(shop/core/errors.py) get their HTTP status from the one table below; DRF's and Django's own
exceptions from theirs."""

from collections.abc import Iterator, Mapping
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpResponse
from rest_framework import exceptions as drf_exceptions
from rest_framework_simplejwt.exceptions import InvalidToken

from shop.core import errors as domain
from shop.core.error_codes import ApiErrorCode

from .outage import database_unavailable
from .problems import problem_response, validation_problem

# The one mapping from a kind of domain error to an HTTP status. Subclasses first.
DOMAIN_STATUSES: list[tuple[type[domain.DomainError], int]] = [
    (domain.NotFound, 404),
    (domain.Forbidden, 403),
    (domain.Conflict, 409),
    (domain.Unprocessable, 422),
    (domain.Unauthenticated, 401),
    (domain.PreconditionFailed, 412),
    (domain.PreconditionRequired, 428),
    (domain.Unavailable, 503),
    (domain.DomainError, 400),
]

_DRF_CODES: list[tuple[type[Exception], ApiErrorCode]] = [
    # Order matters: subclasses first.
    (InvalidToken, ApiErrorCode.TOKEN_NOT_VALID),
    (drf_exceptions.ValidationError, ApiErrorCode.VALIDATION_ERROR),
    (drf_exceptions.ParseError, ApiErrorCode.PARSE_ERROR),
    (drf_exceptions.NotAuthenticated, ApiErrorCode.NOT_AUTHENTICATED),
    (drf_exceptions.AuthenticationFailed, ApiErrorCode.AUTHENTICATION_FAILED),
    (drf_exceptions.PermissionDenied, ApiErrorCode.PERMISSION_DENIED),
    (drf_exceptions.NotFound, ApiErrorCode.NOT_FOUND),
    (drf_exceptions.MethodNotAllowed, ApiErrorCode.METHOD_NOT_ALLOWED),
    (drf_exceptions.NotAcceptable, ApiErrorCode.NOT_ACCEPTABLE),
    (drf_exceptions.UnsupportedMediaType, ApiErrorCode.UNSUPPORTED_MEDIA_TYPE),
    (drf_exceptions.Throttled, ApiErrorCode.THROTTLED),
]


def domain_status(exc: domain.DomainError) -> int:
    return next(status for kind, status in DOMAIN_STATUSES if isinstance(exc, kind))


def flatten_errors(detail: Any, path: str = "") -> Iterator[domain.FieldError]:
    """Yields one FieldError per message in a nested DRF error structure.

    `{"items": [{}, {"quantity": ["..."]}]}` gives `items[1].quantity`.
    """
    if isinstance(detail, Mapping):
        for key, value in detail.items():
            yield from flatten_errors(value, domain.field_path([key], path))
    elif isinstance(detail, list | tuple):
        if all(isinstance(item, str) for item in detail):
            for message in detail:
                yield _field_error(path, message)
        else:
            for index, item in enumerate(detail):
                yield from flatten_errors(item, domain.field_path([index], path))
    else:
        yield _field_error(path, detail)


def _field_error(path: str, message: Any) -> domain.FieldError:
    return domain.FieldError.at(
        path, getattr(message, "code", None) or domain.FieldCode.INVALID, str(message)
    )


def _error_code(exc: Exception) -> ApiErrorCode:
    for exc_type, code in _DRF_CODES:
        if isinstance(exc, exc_type):
            return code
    return ApiErrorCode.SERVER_ERROR


def problem_exception_handler(exc: Exception, context: dict[str, Any]) -> HttpResponse | None:
    """DRF's EXCEPTION_HANDLER: every error the API raises becomes problem details.

    Returns None for unexpected exceptions so that they reach Django's 500 handler (and the logs).
    """
    if isinstance(exc, domain.DomainError):
        return problem_response(
            status=domain_status(exc),
            code=exc.code,
            detail=exc.detail,
            errors=exc.errors,
            headers=exc.headers,
            **exc.extensions,
        )
    if isinstance(exc, DjangoValidationError):
        return validation_problem(domain.django_field_errors(exc))
    if domain.database_gone(exc):
        return database_unavailable(exc)
    if isinstance(exc, Http404):
        exc = drf_exceptions.NotFound()
    if not isinstance(exc, drf_exceptions.APIException):
        return None

    headers: dict[str, str] = {}
    if getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = exc.auth_header
    if getattr(exc, "wait", None) is not None:
        headers["Retry-After"] = str(int(exc.wait))

    if isinstance(exc, drf_exceptions.ValidationError):
        return validation_problem(flatten_errors(exc.detail), headers=headers)
    detail = exc.detail
    if isinstance(detail, Mapping):  # simplejwt puts {"detail": ..., "messages": [...]} here
        detail = detail.get("detail", "")
    return problem_response(
        status=exc.status_code, code=_error_code(exc), detail=str(detail), headers=headers
    )
