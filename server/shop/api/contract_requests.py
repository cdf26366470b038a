"""The contract's verdict on a request: `SpecRequest` (a request as openapi-core reads it),
`validate_request`, the remembered verdicts of requests without a body, the rule that every
query parameter takes one value, and the query in the contract's own spelling (what cache keys
are built from)."""

import functools
from collections import Counter
from dataclasses import dataclass
from typing import NamedTuple

from django.http import HttpResponse
from openapi_core.datatypes import RequestParameters
from werkzeug.datastructures import Headers, ImmutableMultiDict

from shop.core.error_codes import ApiErrorCode
from shop.core.errors import FieldCode, FieldError, invalid_fields_detail

from .contract_errors import is_missing_credentials, request_field_errors
from .problems import problem_response
from .spec import openapi
from .spec_routes import normal_query_value


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


def auth_shape(value: str) -> str:
    """What request validation can see of an Authorization header: its scheme, not the secret."""
    return value.split(" ", 1)[0] + " <credentials>" if value else ""


def validate_request(spec_request: SpecRequest) -> Problem | None:
    """The contract's verdict on a request: None, or the problem to answer with."""
    # The API-call validator itself: `OpenAPI.iter_request_errors` first asks whether the request
    # is a webhook's or an API call's, two runtime protocol checks (a tenth of the check on 3.11);
    # a SpecRequest is always an API call.
    errors = list(openapi().request_validator.iter_errors(spec_request))
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


def repeated_parameters(query: tuple[tuple[str, str], ...], kinds: dict[str, str]) -> Problem | None:
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
    if not query:
        return ()  # the common case: spares a generator and a sort (about 5,000 instructions)
    return tuple(
        sorted((name, normal_query_value(kinds[name], value)) for name, value in query if name in kinds)
    )
