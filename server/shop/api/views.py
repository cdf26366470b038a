"""The spec as a file, the documentation pages that render it, and Django's error handlers."""

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent
from django.http import HttpRequest, HttpResponse
from drf_spectacular.views import SpectacularRedocView, SpectacularSwaggerView

from .error_codes import ApiErrorCode
from .problems import problem_response
from .spec import spec_bytes


def openapi_yaml(request: HttpRequest) -> HttpResponse:
    """The hand-written `openapi.yaml`, byte for byte."""
    return HttpResponse(spec_bytes(), content_type="application/yaml")


class SwaggerUIView(SpectacularSwaggerView):
    authentication_classes = []
    url = "/api/openapi.yaml"


class RedocView(SpectacularRedocView):
    authentication_classes = []
    template_name = "api/redoc.html"
    url = "/api/openapi.yaml"


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """Django's 400 handler: a request it refused before any view (a `Host` not in ALLOWED_HOSTS,
    a body or a form too large) gets problem details like every other error."""
    if isinstance(exception, RequestDataTooBig):
        return problem_response(
            status=413,
            code=ApiErrorCode.PAYLOAD_TOO_LARGE,
            detail=f"The body is larger than {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes.",
        )
    if isinstance(exception, TooManyFieldsSent):
        return problem_response(
            status=400,
            code=ApiErrorCode.TOO_MANY_PARAMETERS,
            detail=f"The request has more than {settings.DATA_UPLOAD_MAX_NUMBER_FIELDS} parameters.",
        )
    return problem_response(status=400, code=ApiErrorCode.BAD_REQUEST, detail="The request was refused.")


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return problem_response(status=404, code=ApiErrorCode.NOT_FOUND, detail="No such resource.")


def server_error(request: HttpRequest) -> HttpResponse:
    return problem_response(
        status=500, code=ApiErrorCode.SERVER_ERROR, detail="An unexpected error occurred; it has been logged."
    )
