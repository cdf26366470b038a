"""Application errors and the DRF exception handler that turns every error into problem details."""

from collections.abc import Iterable, Iterator, Mapping
from enum import StrEnum
from typing import Any

from django.http import Http404, HttpResponse
from rest_framework import exceptions as drf_exceptions
from rest_framework_simplejwt.exceptions import InvalidToken

from .error_codes import ApiErrorCode
from .problems import FieldError, problem_response


class ApplicationError(Exception):
    """A business rule said no. Services raise it; the exception handler maps it to HTTP."""

    def __init__(
        self,
        detail: str,
        *,
        code: StrEnum,
        status: int = 400,
        errors: Iterable[Mapping[str, Any]] | None = None,
        **extensions: Any,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.code = code
        self.status = status
        self.errors = list(errors or [])
        self.extensions = extensions


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


def _join(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else str(key)


def flatten_errors(detail: Any, path: str = "") -> Iterator[FieldError]:
    """Yields one `{field, code, message}` per message in a nested DRF error structure.

    `{"items": [{}, {"quantity": ["..."]}]}` gives `items[1].quantity`.
    """
    if isinstance(detail, Mapping):
        for key, value in detail.items():
            yield from flatten_errors(value, _join(path, key))
    elif isinstance(detail, list | tuple):
        if all(isinstance(item, str) for item in detail):
            for message in detail:
                yield _field_error(path, message)
        else:
            for index, item in enumerate(detail):
                yield from flatten_errors(item, _join(path, index))
    else:
        yield _field_error(path, detail)


def _field_error(path: str, message: Any) -> FieldError:
    return {
        "field": path or "non_field_errors",
        "code": str(getattr(message, "code", None) or "invalid"),
        "message": str(message),
    }


def _error_code(exc: Exception) -> ApiErrorCode:
    for exc_type, code in _DRF_CODES:
        if isinstance(exc, exc_type):
            return code
    return ApiErrorCode.SERVER_ERROR


def problem_exception_handler(exc: Exception, context: dict[str, Any]) -> HttpResponse | None:
    """DRF's EXCEPTION_HANDLER: every error the API raises becomes problem details.

    Returns None for unexpected exceptions so that they reach Django's 500 handler (and the logs).
    """
    if isinstance(exc, ApplicationError):
        return problem_response(
            status=exc.status, code=exc.code, detail=exc.detail, errors=exc.errors, **exc.extensions
        )
    if isinstance(exc, Http404):
        exc = drf_exceptions.NotFound()
    if not isinstance(exc, drf_exceptions.APIException):
        return None

    headers: dict[str, str] = {}
    if getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = exc.auth_header
    if getattr(exc, "wait", None) is not None:
        headers["Retry-After"] = str(int(exc.wait))

    code = _error_code(exc)
    if isinstance(exc, drf_exceptions.ValidationError):
        errors = list(flatten_errors(exc.detail))
        return problem_response(
            status=exc.status_code,
            code=code,
            detail=f"The request has {len(errors)} invalid field(s).",
            errors=errors,
            headers=headers,
        )
    detail = exc.detail
    if isinstance(detail, Mapping):  # simplejwt puts {"detail": ..., "messages": [...]} here
        detail = detail.get("detail", "")
    return problem_response(status=exc.status_code, code=code, detail=str(detail), headers=headers)
