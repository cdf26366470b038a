"""The one place that builds error responses: RFC 9457 problem details.

Used by DRF's exception handler, the OpenAPI validation middleware and Django's 404/500 handlers,
so that every error of the API has the same envelope:
`{"type", "title", "status", "detail", "code", "errors": [{"field", "code", "message"}], ...}`.
"""

import json
from collections.abc import Iterable, Mapping
from contextvars import ContextVar
from enum import StrEnum
from typing import Any

from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpRequest, HttpResponse

from shop.core.error_codes import ApiErrorCode
from shop.core.errors import FieldError, invalid_fields_detail

from .request_id import current_request_id

PROBLEM_CONTENT_TYPE = "application/problem+json"
# What every 401 says about how to authenticate (RFC 9110 section 15.5.2), whoever refused.
WWW_AUTHENTICATE = 'Bearer realm="api"'
# A problem's `type` links to its page on the API's own host (`/problems/<code>`, operation
# problemType). The host is the request's, remembered per request by `problem_type_base` and
# read only when a problem is built; a problem built outside a request (or for a Host Django
# refused) falls back to the setting.
_REQUEST: ContextVar[HttpRequest | None] = ContextVar("problem_request", default=None)


def problem_type_base(get_response):
    """Middleware: problems built while this request is served link to pages on its host."""

    def middleware(request: HttpRequest) -> HttpResponse:
        token = _REQUEST.set(request)
        try:
            return get_response(request)
        finally:
            _REQUEST.reset(token)

    return middleware


def problem_type(code: str) -> str:
    request = _REQUEST.get()
    if request is not None:
        try:
            return f"{request.scheme}://{request.get_host()}/problems/{code}"
        except DisallowedHost:  # Django answers 400 bad_request for it; the link uses the setting
            pass
    return settings.PROBLEM_TYPE_BASE + code


def problem_title(code: str) -> str:
    """`insufficient_stock` -> `Insufficient stock`: titles follow the codes, so they stay stable."""
    return code.replace("_", " ").capitalize()


def problem_body(
    *,
    status: int,
    code: StrEnum | str,
    detail: str,
    errors: Iterable[FieldError] = (),
    **extensions: Any,
) -> dict[str, Any]:
    """Returns the problem-details document for one error."""
    code = str(code)
    body: dict[str, Any] = {
        "type": problem_type(code),
        "title": problem_title(code),
        "status": status,
        "detail": detail,
        "code": code,
    }
    errors = [error.as_dict() for error in errors]
    if errors:
        body["errors"] = errors
    body.update(extensions)
    if request_id := current_request_id():
        body["request_id"] = request_id  # what to quote to whoever reads the logs
    return body


def problem_response(
    *,
    status: int,
    code: StrEnum | str,
    detail: str,
    errors: Iterable[FieldError] = (),
    headers: Mapping[str, str] | None = None,
    **extensions: Any,
) -> HttpResponse:
    """Returns an `application/problem+json` response for one error."""
    body = problem_body(status=status, code=code, detail=detail, errors=errors, **extensions)
    response = HttpResponse(
        json.dumps(body, cls=DjangoJSONEncoder),
        status=status,
        content_type=PROBLEM_CONTENT_TYPE,
    )
    for name, value in (headers or {}).items():
        response[name] = value
    if status == 401 and not response.has_header("WWW-Authenticate"):
        response["WWW-Authenticate"] = WWW_AUTHENTICATE
    return response


def validation_problem(
    errors: Iterable[FieldError], *, detail: str = "", headers: Mapping[str, str] | None = None
) -> HttpResponse:
    """The 400 `validation_error` problem naming every offending field: the one way input errors
    are answered, by the contract middleware, DRF's serializers and the services alike."""
    errors = tuple(errors)
    return problem_response(
        status=400,
        code=ApiErrorCode.VALIDATION_ERROR,
        detail=detail or invalid_fields_detail(len(errors)),
        errors=errors,
        headers=headers,
    )
