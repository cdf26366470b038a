"""Validates every API request against `openapi.yaml` before any view sees it, and (in tests, CI
and DEBUG) every response after. Violations become problem details with the right status; the
stock openapi-core Django middleware is not used because it answers in its own error shape, with
the wrong statuses, and crashes on bodies that are not UTF-8."""

import codecs
import functools
import json
import logging
from collections import Counter
from dataclasses import dataclass
from typing import NamedTuple

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent
from django.http import HttpRequest, HttpResponse
from django.http.request import HttpHeaders
from django.utils.http import parse_header_parameters
from openapi_core.contrib.django import DjangoOpenAPIResponse
from openapi_core.datatypes import RequestParameters
from werkzeug.datastructures import Headers, ImmutableMultiDict

from shop.core.error_codes import ApiErrorCode
from shop.core.errors import FieldCode, FieldError, invalid_fields_detail

from .contract_errors import is_missing_credentials, request_field_errors
from .problems import PROBLEM_CONTENT_TYPE, problem_response
from .spec import (
    closed_openapi,
    documented_codes,
    match_route,
    normal_query_value,
    openapi,
    resolve_ref,
    spec_document,
)
from .views import bad_request, documentation_paths

logger = logging.getLogger(__name__)

API_PREFIX = "/api/"
# No body of the contract nests deeper than 3 levels; anything past this is refused before a
# recursive parser or validator (openapi-core, jsonschema, DRF) can run out of stack on it.
MAX_JSON_DEPTH = 32


class ResponseContractViolation(AssertionError):
    """A response does not match the contract. Raised only where response validation is on."""


class SpecRequest:
    """A request as openapi-core's protocol wants it, with its path already matched."""

    host_url = "http://localhost"  # the spec's only server is "/": any host matches

    def __init__(
        self,
        *,
        method: str,
        path: str,
        path_pattern: str,
        path_params: dict[str, str],
        query: tuple[tuple[str, str], ...],
        headers: tuple[tuple[str, str], ...],
        body: bytes = b"",
        content_type: str = "",
    ) -> None:
        self.method = method
        self.path = path
        self.path_pattern = path_pattern
        self.body = body
        self.content_type = content_type
        self.parameters = RequestParameters(
            path=path_params,
            query=ImmutableMultiDict(query),
            header=Headers(headers),
            cookie=ImmutableMultiDict(),
        )


@dataclass(frozen=True)
class Problem:
    """What a rejected request is answered; immutable, so a remembered outcome can be reused."""

    status: int
    code: str
    detail: str
    errors: tuple[FieldError, ...] = ()

    def response(self) -> HttpResponse:
        return problem_response(
            status=self.status,
            code=self.code,
            detail=self.detail,
            errors=self.errors,
        )


def _media_type(content_type: str) -> str:
    return content_type.split(";", 1)[0].strip().lower()


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not valid JSON")


def _nested_deeper_than(value: object, limit: int) -> bool:
    """True when `value` has containers nested more than `limit` levels; iterative, no recursion."""
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else None
        if children is None:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


def _json_problem(body: bytes) -> str | None:
    """Returns why the body is not acceptable JSON, or None. Catches what would otherwise crash
    deeper down or be read differently there: anything but UTF-8 (a BOM, UTF-16), NaN/Infinity,
    lone surrogates the database cannot store, nesting deep enough to exhaust a recursive parser."""
    try:
        # Decoded exactly as DRF's parser will decode it (strict UTF-8, a BOM is an error), so
        # the contract validates the same characters the view sees.
        parsed = json.loads(body.decode("utf-8"), parse_constant=_reject_constant)
        json.dumps(parsed, ensure_ascii=False).encode("utf-8")
    except (ValueError, RecursionError) as exc:  # JSONDecodeError and UnicodeError are ValueErrors
        return f"The body is not valid UTF-8 JSON: {exc}"
    # At most one container per bracket: only bodies with many brackets need the walk.
    if body.count(b"[") + body.count(b"{") > MAX_JSON_DEPTH and _nested_deeper_than(parsed, MAX_JSON_DEPTH):
        return f"The body nests arrays or objects deeper than {MAX_JSON_DEPTH} levels."
    return None


def _charset_is_utf8(content_type: str) -> bool:
    """JSON is UTF-8 (RFC 8259 §8.1): a declared charset must name UTF-8, or the parser behind
    the contract would decode other characters than the ones validated here."""
    charset = parse_header_parameters(content_type)[1].get("charset")
    if charset is None:
        return True
    try:
        return codecs.lookup(charset).name == "utf-8"
    except LookupError:
        return False


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


def _body_problem(body: bytes, content_type: str, media_types: tuple[str, ...]) -> Problem | None:
    media_type = _media_type(content_type)
    if media_type not in media_types:
        return Problem(
            status=415,
            code=ApiErrorCode.UNSUPPORTED_MEDIA_TYPE,
            detail=f"Send the body as {', '.join(media_types)}.",
        )
    if not _charset_is_utf8(content_type):
        return Problem(
            status=415,
            code=ApiErrorCode.UNSUPPORTED_MEDIA_TYPE,
            detail="Send the body encoded as UTF-8 (charset=utf-8, or no charset parameter).",
        )
    reason = _json_problem(body) if body else None
    return Problem(status=400, code=ApiErrorCode.PARSE_ERROR, detail=reason) if reason else None


def _auth_shape(value: str) -> str:
    """What request validation can see of an Authorization header: its scheme, not the secret."""
    return value.split(" ", 1)[0] + " <credentials>" if value else ""


def validate_request(spec_request: SpecRequest) -> Problem | None:
    """The contract's verdict on a request: None, or the problem to answer with."""
    errors = list(openapi().iter_request_errors(spec_request))
    if not errors:
        return None
    if is_missing_credentials(errors):
        return Problem(
            status=401,
            code=ApiErrorCode.NOT_AUTHENTICATED,
            detail="Authentication credentials were not provided.",
        )
    field_errors = tuple(request_field_errors(errors))
    return Problem(
        status=400,
        code=ApiErrorCode.VALIDATION_ERROR,
        detail=invalid_fields_detail(len(field_errors)),
        errors=field_errors,
    )


# A request is remembered only when its path, query and headers are this short together: an
# anonymous client sending long, ever-different query strings or If-None-Match values must not be
# able to fill a process's memory with them (4,096 entries of at most 1 KiB of input each).
MEMO_MAX_INPUT = 1024


class BodylessRequest(NamedTuple):
    """What the contract judges a request without a body by: its path, query and the few headers
    it reads. The same inputs always get the same verdict."""

    method: str
    path: str
    path_pattern: str
    path_params: tuple[tuple[str, str], ...]
    query: tuple[tuple[str, str], ...]
    headers: tuple[tuple[str, str], ...]

    def size(self) -> int:
        pairs = (*self.query, *self.headers)
        return len(self.path) + sum(len(name) + len(value) for name, value in pairs)


def _verdict(request: BodylessRequest) -> Problem | None:
    return validate_request(
        SpecRequest(
            method=request.method,
            path=request.path,
            path_pattern=request.path_pattern,
            path_params=dict(request.path_params),
            query=request.query,
            headers=request.headers,
        )
    )


_remembered_verdict = functools.lru_cache(maxsize=4096)(_verdict)


def validate_bodyless_request(request: BodylessRequest) -> Problem | None:
    """`validate_request` for a request without a body; a short request's verdict is remembered.
    This keeps validation (about 2 ms in openapi-core) off the hot read paths."""
    judge = _remembered_verdict if request.size() <= MEMO_MAX_INPUT else _verdict
    return judge(request)


def _repeated_parameters(query: tuple[tuple[str, str], ...], kinds: dict[str, str]) -> Problem | None:
    """Every query parameter of the contract takes one value (none is an array): a repeat is
    refused, so that nothing downstream can read another value than the one validated."""
    if len({name for name, _ in query}) == len(query):
        return None  # the common case, no name twice: spares building a Counter (~9,000 instructions)
    counts = Counter(name for name, _ in query)
    repeated = [name for name, n in counts.items() if n > 1 and kinds.get(name, "list") != "list"]
    if not repeated:
        return None
    errors = tuple(FieldError.at(name, FieldCode.REPEATED, "Send this parameter once.") for name in repeated)
    return Problem(
        status=400,
        code=ApiErrorCode.VALIDATION_ERROR,
        detail=invalid_fields_detail(len(errors)),
        errors=errors,
    )


def contract_query(query: tuple[tuple[str, str], ...], kinds: dict[str, str]) -> tuple[tuple[str, str], ...]:
    """The query as the contract validated it: its parameters only (unknown ones are ignored by
    every view), each value in its normal spelling, sorted. Two queries the views answer alike
    have the same contract query: what cache keys are built from."""
    return tuple(
        sorted((name, normal_query_value(kinds[name], value)) for name, value in query if name in kinds)
    )


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
            query = tuple((k, v) for k, values in request.GET.lists() for v in values)
        except (RequestDataTooBig, TooManyFieldsSent) as exc:
            return bad_request(request, exc)  # answered here too, where DEBUG would show a page
        query_kinds = route.query_params[method]
        problem = _repeated_parameters(query, query_kinds)
        if problem is not None:
            return problem.response()
        media_types = route.body_media_types[method]
        content_type = request.META.get("CONTENT_TYPE", "")
        if media_types and (body or content_type):
            problem = _body_problem(body, content_type, media_types)
            if problem is not None:
                return problem.response()

        meta = request.META  # what `request.headers` would be built from, on every request
        headers = tuple(
            (name, meta[key])
            for name in route.header_params[method]
            if (key := HttpHeaders.to_wsgi_name(name)) in meta
        )
        authorization = _auth_shape(meta.get("HTTP_AUTHORIZATION", ""))
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
        media_type = _media_type(response.get("Content-Type", ""))
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
