"""Validates every API request against `openapi.yaml` before any view sees it, and (in tests, CI
and DEBUG) every response after. Violations become problem details with the right status; the
stock openapi-core Django middleware is not used because it answers in its own error shape, with
the wrong statuses, and crashes on bodies that are not UTF-8. The body's own checks are in
request_body.py, the contract's verdict in contract_requests.py."""

import json
import logging

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent
from django.http import HttpRequest, HttpResponse
from django.http.request import HttpHeaders
from openapi_core.contrib.django import DjangoOpenAPIResponse

from shop.core.error_codes import ApiErrorCode

from .contract_requests import (
    BodylessRequest,
    SpecRequest,
    auth_shape,
    contract_query,
    repeated_parameters,
    validate_bodyless_request,
    validate_request,
)
from .problems import PROBLEM_CONTENT_TYPE, problem_response
from .request_body import body_problem
from .request_body import media_type as media_type_of
from .spec import closed_openapi, documented_codes, resolve_ref, spec_document
from .spec_routes import match_route
from .views import bad_request, documentation_paths

logger = logging.getLogger(__name__)

API_PREFIX = "/api/"


class ResponseContractViolation(AssertionError):
    """A response does not match the contract. Raised only where response validation is on."""


def _undocumented_media_type(spec_request: SpecRequest, status: int, media_type: str) -> list[str]:
    operation = spec_document()["paths"][spec_request.path_pattern][spec_request.method]
    response = operation["responses"].get(str(status)) or operation["responses"].get("default")
    if response is None:
        return [f"status {status} is not documented"]
    response = resolve_ref(response)
    if media_type not in response.get("content", {}):
        return [f"{media_type} is not documented for status {status}"]
    return []


def _undocumented_code(spec_request: SpecRequest, response: HttpResponse) -> list[str]:
    """A problem's code must be one the operation documents for that status, so a client reading
    the contract knows every code each operation can answer (and no rule ships undocumented)."""
    code = json.loads(response.content)["code"]
    documented = documented_codes(spec_request.path_pattern, spec_request.method, response.status_code)
    if code in documented:
        return []
    status = response.status_code
    return [f"problem code {code!r} is not documented for status {status} (documented: {sorted(documented)})"]


def routed_path(request: HttpRequest) -> str:
    """The path Django resolves a view from: what the contract must match."""
    return request.path_info


class UncheckedApiRequest(AssertionError):
    """An `/api/` view was about to run for a request the contract never judged (a route that
    Django resolves and the contract does not match): refused, never let through unchecked."""


class OpenAPIValidationMiddleware:
    """Judges every request to a contract path; fails closed for the rest of `/api/`.

    Operations are matched on `path_info`, the path Django routes on (what a `SCRIPT_NAME` prefix
    leaves), so no prefix can make a request reach a view by a path the contract does not see.
    A request that reaches an `/api/` view without a verdict (`process_view`) is a bug in this
    match: it is answered 500 and logged, and in tests the assertion fails loudly."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.validate_responses = settings.OPENAPI_VALIDATE_RESPONSES

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.get_host()  # a Host outside ALLOWED_HOSTS is refused (handler400) before anything else
        path = routed_path(request)
        matched = match_route(path)
        if matched is None:
            if path.startswith(API_PREFIX):
                if path not in documentation_paths():
                    return problem_response(
                        status=404, code=ApiErrorCode.NOT_FOUND, detail="No such endpoint."
                    )
                request.contract_checked = True  # Swagger UI and Redoc: pages about the contract
            return self.get_response(request)

        route, path_params = matched
        method = request.method.lower()
        request.operation_id = route.operation_ids.get(method)  # for the metrics' labels
        if method not in route.methods:
            return problem_response(
                status=405,
                code=ApiErrorCode.METHOD_NOT_ALLOWED,
                detail=f"Method {request.method} is not allowed here.",
                headers={"Allow": ", ".join(m.upper() for m in route.methods)},
            )

        try:
            # Django reads no body without a Content-Length (its stream is then empty): a GET
            # is spared the read.
            body = request.body if request.META.get("CONTENT_LENGTH", "0") not in ("", "0") else b""
            # No query string, no `QueryDict` to build (about 25,000 CPU instructions, even empty).
            query = (
                tuple((k, v) for k, values in request.GET.lists() for v in values)
                if request.META.get("QUERY_STRING")
                else ()
            )
        except (RequestDataTooBig, TooManyFieldsSent) as exc:
            return bad_request(request, exc)  # answered here too, where DEBUG would show a page
        query_kinds = route.query_params[method]
        problem = repeated_parameters(query, query_kinds)
        if problem is not None:
            return problem.response()
        media_types = route.body_media_types[method]
        content_type = request.META.get("CONTENT_TYPE", "")
        if media_types and (body or content_type):
            problem = body_problem(body, content_type, media_types)
            if problem is not None:
                return problem.response()

        meta = request.META  # what `request.headers` would be built from, on every request
        headers = tuple(
            (name, meta[key])
            for name in route.header_params[method]
            if (key := HttpHeaders.to_wsgi_name(name)) in meta
        )
        authorization = auth_shape(meta.get("HTTP_AUTHORIZATION", ""))
        if authorization:
            headers += (("Authorization", authorization),)

        def spec_request() -> SpecRequest:
            return SpecRequest(
                method=method,
                path=path,
                path_pattern=route.template,
                path_params=path_params,
                query=query,
                headers=headers,
                body=body,
                content_type=content_type,
            )

        if body:
            problem = validate_request(spec_request())
        else:  # remembered per (path, query, headers): no SpecRequest is built on a repeat
            problem = validate_bodyless_request(
                BodylessRequest(method, path, route.template, tuple(path_params.items()), query, headers)
            )
        if problem is not None:
            return problem.response()

        request.contract_checked = True
        request.contract_query = contract_query(query, query_kinds)
        response = self.get_response(request)
        if self.validate_responses:
            self._check_response(spec_request(), response)
        return response

    def process_view(self, request: HttpRequest, view_func, view_args, view_kwargs) -> HttpResponse | None:
        if request.path_info.startswith(API_PREFIX) and not getattr(request, "contract_checked", False):
            logger.error("event=unchecked_api_request path=%s", request.path_info[:200])
            if self.validate_responses:  # tests, CI, DEBUG: a failure that cannot go unseen
                raise UncheckedApiRequest(f"{request.method} {request.path_info} reached a view unchecked")
            return problem_response(
                status=500, code=ApiErrorCode.SERVER_ERROR, detail="The request could not be checked."
            )
        return None

    def _check_response(self, spec_request: SpecRequest, response: HttpResponse) -> None:
        media_type = media_type_of(response.get("Content-Type", ""))
        if media_type.endswith("json") or not media_type:
            errors = [
                f"{e}: {e.__cause__ or ''}"
                for e in closed_openapi().iter_response_errors(spec_request, DjangoOpenAPIResponse(response))
            ]
            if media_type == PROBLEM_CONTENT_TYPE and not errors:
                errors = _undocumented_code(spec_request, response)
        else:  # a file: openapi-core cannot validate bytes against a schema; check it is documented
            errors = _undocumented_media_type(spec_request, response.status_code, media_type)
        if errors:
            details = "; ".join(error[:300] for error in errors)
            raise ResponseContractViolation(
                f"{spec_request.method.upper()} {spec_request.path} -> {response.status_code}: {details}"
            )
