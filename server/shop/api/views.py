"""The spec as a file, the documentation pages that render it, and Django's error handlers."""

import functools
import sys

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.templatetags.static import static
from django.urls import reverse
from drf_spectacular.views import SpectacularRedocView, SpectacularSwaggerView

from shop.core.error_codes import ApiErrorCode
from shop.core.errors import database_gone

from .outage import database_unavailable
from .problems import problem_response, problem_title
from .spec import HTTP_METHODS, spec_bytes, spec_document


@functools.cache
def documentation_paths() -> frozenset[str]:
    """The pages that render the contract: under /api/, but not operations of it."""
    return frozenset(reverse(name) for name in ("openapi-yaml", "swagger-ui", "redoc"))


def openapi_yaml(request: HttpRequest) -> HttpResponse:
    """The hand-written `openapi.yaml`, byte for byte."""
    return HttpResponse(spec_bytes(), content_type="application/yaml")


# The documentation pages promise to work with no internet: the browser is told to load nothing
# from another origin (Redoc's footer would otherwise fetch its logo from a CDN; blocked, Redoc
# drops the image). Inline scripts and styles are the pages' own.
DOCS_CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; worker-src 'self' blob:; connect-src 'self'"
)


class _OfflineDocsMixin:
    authentication_classes = []
    url = "/api/openapi.yaml"

    def get(self, request, *args, **kwargs):
        response = super().get(request, *args, **kwargs)
        response["Content-Security-Policy"] = DOCS_CONTENT_SECURITY_POLICY
        return response


class SwaggerUIView(_OfflineDocsMixin, SpectacularSwaggerView):
    pass


class RedocView(_OfflineDocsMixin, SpectacularRedocView):
    template_name = "api/redoc.html"


@functools.cache
def problem_pages() -> dict[str, dict]:
    """Per problem code, what its page says: from the contract's `ProblemCode` (`x-problems`) and
    the operations that list the code in `x-problem-codes`."""
    spec = spec_document()
    schema = spec["components"]["schemas"]["ProblemCode"]
    pages = {}
    for code in schema["enum"]:
        operations = [
            operation["operationId"]
            for item in spec["paths"].values()
            for method, operation in item.items()
            if method in HTTP_METHODS and code in operation.get("x-problem-codes", ())
        ]
        pages[code] = {**schema["x-problems"][code], "code": code, "operations": operations}
    return pages


def problem_type(request: HttpRequest, code: str) -> HttpResponse:
    """`/problems/<code>`: what a problem's `type` links to, a page for people."""
    page = problem_pages().get(code)
    if page is None:
        return not_found(request)
    response = render(
        request,
        "api/problem.html",
        {
            **page,
            "title": problem_title(code),
            "api_title": spec_document()["info"]["title"],
            "codes": list(problem_pages()),
        },
    )
    response["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'"
    response["Cache-Control"] = "public, max-age=3600"
    return response


def index(request: HttpRequest) -> HttpResponse:
    """`/`: where to go from here."""
    return JsonResponse(
        {
            "name": settings.SPECTACULAR_SETTINGS["TITLE"],
            "docs": "/api/docs/",
            "redoc": "/api/redoc/",
            "openapi": "/api/openapi.yaml",
            "health": "/healthz",
        }
    )


def favicon(request: HttpRequest) -> HttpResponse:
    """`/favicon.ico`, which browsers ask for on every page: the Swagger UI icon."""
    return HttpResponseRedirect(static("drf_spectacular_sidecar/swagger-ui-dist/favicon-32x32.png"))


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
    """Django's 500 handler, for what no view handled; the database's absence is a 503 here too
    (met in a middleware or a page outside the API)."""
    exc = sys.exc_info()[1]
    if database_gone(exc):
        return database_unavailable(exc)
    return problem_response(
        status=500, code=ApiErrorCode.SERVER_ERROR, detail="An unexpected error occurred; it has been logged."
    )
