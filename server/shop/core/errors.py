"""The errors the domain raises. A class names the kind of refusal, a code from an enum names the
reason; which HTTP status a kind becomes is known only to the API layer (shop/api/exceptions.py).

    raise NotFound("No such order.", code=ApiErrorCode.NOT_FOUND)
    raise InvalidInput([FieldError("items[0].quantity", FieldCode.MAX_VALUE, "At most 1000 units.")])
"""

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DatabaseError, InterfaceError, OperationalError, connections

from shop.core.error_codes import ApiErrorCode

# The database not answering (refused, lost, restarting, a statement cancelled, a deadlock): a
# transient condition, never the request's fault nor the work's failure. Requests answer 503
# (shop/api/outage.py); tasks retry without using up their retries (shop/retries.py).
DATABASE_ERRORS = (OperationalError, InterfaceError)
# psycopg's words for a command that got more than its one result (shop.core.errors.database_gone)
POOLER_INTERJECTION = re.compile(r"received \d+ results from command '[A-Z ]+'")


def database_gone(exc: BaseException | None) -> bool:
    """Whether `exc` is the database going away: one of DATABASE_ERRORS, or another database
    error that a connection pooler's interjection caused. Through PgBouncer, a server connection
    killed, or not to be had, as a COMMIT or a BEGIN goes out answers it with the command's
    result and an error, which psycopg reports as InternalError ("received 2 results from
    command 'COMMIT'") rather than OperationalError, and the connection is often closed by then
    (the soak through PgBouncer: 500s where a direct connection gave 503s)."""
    if isinstance(exc, DATABASE_ERRORS):
        return True
    if not isinstance(exc, DatabaseError):
        return False
    if POOLER_INTERJECTION.match(str(exc)):
        return True
    return any(
        wrapper.connection is not None and getattr(wrapper.connection, "closed", False)
        for wrapper in connections.all(initialized_only=True)
    )


class FieldCode(StrEnum):
    """Why one field of the input is wrong (`errors[].code`)."""

    REQUIRED = "required"
    INVALID = "invalid"
    REPEATED = "repeated"
    UNIQUE = "unique"
    MAX_VALUE = "max_value"
    DOES_NOT_EXIST = "does_not_exist"
    REUSED = "reused"
    PASSWORD_INVALID = "password_invalid"
    PASSWORD_INCORRECT = "password_incorrect"
    INSUFFICIENT_STOCK = "insufficient_stock"


@dataclass(frozen=True)
class FieldError:
    """One offending input: its path (`items[0].quantity`), why, and a message for people.
    `extra` carries code-specific members (`product`, `requested`, `available`)."""

    field: str
    code: str
    message: str
    extra: tuple[tuple[str, Any], ...] = field(default=())

    @classmethod
    def at(cls, path: str, code: str, message: str, **extra: Any) -> "FieldError":
        return cls(path or "non_field_errors", str(code), message, tuple(extra.items()))

    def as_dict(self) -> dict[str, Any]:
        return {"field": self.field, "code": self.code, "message": self.message, **dict(self.extra)}


def field_path(parts: Iterable[str | int], prefix: str = "") -> str:
    """`["items", 0, "quantity"]` -> `items[0].quantity`: the one spelling of a field's path."""
    path = prefix
    for part in parts:
        path = f"{path}[{part}]" if isinstance(part, int) else (f"{path}.{part}" if path else str(part))
    return path


class DomainError(Exception):
    """The request breaks a business rule (the API answers 400 unless a subclass says otherwise)."""

    # Response headers that go with the refusal (`ETag` on a 412), set by a subclass.
    headers: Mapping[str, str] = {}

    def __init__(
        self, detail: str, *, code: StrEnum, errors: Iterable[FieldError] = (), **extensions: Any
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.code = code
        self.errors = tuple(errors)
        self.extensions: Mapping[str, Any] = extensions


class InvalidInput(DomainError):
    """Fields of the input are wrong, each named in `errors`."""

    def __init__(self, errors: Iterable[FieldError], *, detail: str = "") -> None:
        errors = tuple(errors)
        super().__init__(
            detail or invalid_fields_detail(len(errors)), code=ApiErrorCode.VALIDATION_ERROR, errors=errors
        )


class NotFound(DomainError):
    """No such thing, or not one the caller may see."""


class Forbidden(DomainError):
    """The caller may never do this."""


class Conflict(DomainError):
    """Not possible in the current state of the thing."""


class Unprocessable(DomainError):
    """Well-formed, but contradicts an earlier request (a reused idempotency key)."""


class Unauthenticated(DomainError):
    """The credentials in the request are not (or no longer) valid."""


class PreconditionFailed(DomainError):
    """The client's copy (its `If-Match`) is not the current one; `etag` names the current one."""

    def __init__(self, detail: str, *, etag: str) -> None:
        super().__init__(detail, code=ApiErrorCode.PRECONDITION_FAILED)
        self.headers = {"ETag": etag}


class PreconditionRequired(DomainError):
    """The change may only be made against a known copy: `If-Match` is required."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail, code=ApiErrorCode.PRECONDITION_REQUIRED)


class Unavailable(DomainError):
    """A service the request needs is not answering; the client may try again after `retry_after`
    seconds (the API answers 503 with `Retry-After`)."""

    def __init__(self, detail: str, *, code: StrEnum, retry_after: int) -> None:
        super().__init__(detail, code=code)
        self.headers = {"Retry-After": str(retry_after)}


def invalid_fields_detail(count: int) -> str:
    return f"The request has {count} invalid field(s)."


def django_field_errors(exc: DjangoValidationError) -> list[FieldError]:
    """A model's `full_clean()` (or `clean_fields()`) failure, as field errors: one per message,
    with Django's error code (`invalid` when it has none)."""
    by_field = exc.error_dict if hasattr(exc, "error_dict") else {"": exc.error_list}
    return [
        FieldError.at(name, error.code or FieldCode.INVALID, message)
        for name, errors in by_field.items()
        for error in errors
        for message in error.messages
    ]
