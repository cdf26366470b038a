"""`If-Match` (RFC 9110 section 13.1.1): a write made against the copy the client read, or not
at all. The check runs where the write holds its row lock, so nothing can change in between."""

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils.http import parse_etags

from shop.core.errors import PreconditionFailed, PreconditionRequired


def check_if_match(request: HttpRequest, current_etag: str, *, required: bool, what: str) -> None:
    """Passes when `If-Match` is `*` or names `current_etag` (strong comparison: a weak tag never
    matches); raises PreconditionFailed (412, with the current tag) otherwise, or
    PreconditionRequired (428) when there is no `If-Match` and the change needs one."""
    header = request.headers.get("If-Match")
    if header is None:
        if required:
            raise PreconditionRequired(
                f"Send If-Match with the ETag of the {what} you read: this change could otherwise "
                "overwrite changes made since."
            )
        return
    tags = parse_etags(header)
    if "*" in tags or current_etag in tags:
        return
    raise PreconditionFailed(
        f"The {what} changed since the copy named in If-Match: read it again (its ETag is in this "
        "answer), apply the change to the current one, and send it with the new tag.",
        etag=current_etag,
    )


def if_match_precondition(
    request: HttpRequest, current_etag: Callable[[Any], str], *, required: bool, what: str
) -> Callable[[Any], None] | None:
    """The `precondition` a write service runs under its row lock: `check_if_match` against
    `current_etag(row)`, the row as it is now. None when the request sends no `If-Match` and the
    change does not require one: then no representation is rendered for the check."""
    if not required and "If-Match" not in request.headers:
        return None

    def check(row) -> None:
        check_if_match(request, current_etag(row), required=required, what=what)

    return check


def json_with_etag(body: bytes, etag: str) -> HttpResponse:
    """The answer to a write: the new representation and its tag, for the next `If-Match`."""
    response = HttpResponse(body, content_type="application/json")
    response["ETag"] = etag
    return response
