"""The spec as a file, the documentation pages that render it, and Django's error handlers."""

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


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return problem_response(status=404, code=ApiErrorCode.NOT_FOUND, detail="No such resource.")


def server_error(request: HttpRequest) -> HttpResponse:
    return problem_response(
        status=500, code=ApiErrorCode.SERVER_ERROR, detail="An unexpected error occurred; it has been logged."
    )
