"""The database going away: what a request is answered, and what the log says.

A request that meets a database error Django raises for a lost or refused connection, a server
shutting down, a statement cancelled or a deadlock (`OperationalError`, `InterfaceError`: all of
them transient) is answered `503 service_unavailable` with `Retry-After`, never a 500. The log
gets one line when this process first meets the outage and one when it connects again, not a
traceback per request (`OutageLines` drops the per-request lines in between). A request that
waited longer than the web's bounds (shop.core.timeouts: a lock held, a statement too slow) is
also a 503 with `Retry-After`, logged once per request, with no outage begun: the database is
there, busy."""

import logging
import threading
import time

import psycopg
from django.conf import settings
from django.http import HttpResponse

from shop.core.error_codes import ApiErrorCode

from .problems import problem_response

logger = logging.getLogger(__name__)

_lock = threading.Lock()
_down_since: float | None = None


def waited_too_long(exc: BaseException) -> str | None:
    """ "lock_timeout" or "statement_timeout" when `exc` is PostgreSQL ending a wait this process
    bounds (shop.core.timeouts): the database is there, busy, and no outage begins."""
    cause = exc.__cause__
    if isinstance(cause, psycopg.errors.LockNotAvailable):
        return "lock_timeout"
    if isinstance(cause, psycopg.errors.QueryCanceled):
        return "statement_timeout"
    return None


def database_unavailable(exc: BaseException) -> HttpResponse:
    """The answer to a request that met `exc`; the first one of an outage logs it, and each one
    that waited too long on a database that is up (a lock held, a slow statement) logs itself."""
    retry_after = settings.DATABASE_RETRY_AFTER
    waited = waited_too_long(exc)
    if waited is not None:
        logger.warning("event=database_busy reason=%s action=answer_503", waited)
        return problem_response(
            status=503,
            code=ApiErrorCode.SERVICE_UNAVAILABLE,
            detail=(
                f"The database is busy ({waited.replace('_', ' ')}): try again in {retry_after}"
                " seconds. Nothing was changed."
            ),
            headers={"Retry-After": str(retry_after)},
        )
    global _down_since
    with _lock:
        if _down_since is None:
            _down_since = time.monotonic()
            logger.error(
                'event=database_unavailable error="%s: %s" action=answer_503',
                type(exc).__name__,
                str(exc).strip().splitlines()[0] if str(exc).strip() else "",
            )
    return problem_response(
        status=503,
        code=ApiErrorCode.SERVICE_UNAVAILABLE,
        detail=(
            f"The database is not answering: try again in {retry_after} seconds. A change is made"
            " in full or not at all; read it back, or send it again with the same Idempotency-Key"
            " or If-Match, to know which."
        ),
        headers={"Retry-After": str(retry_after)},
    )


def database_connected(**kwargs) -> None:
    """`connection_created`: a new connection ends the outage this process was in, if any."""
    global _down_since
    with _lock:
        if _down_since is not None:
            logger.warning("event=database_available down_seconds=%.1f", time.monotonic() - _down_since)
            _down_since = None


def in_outage() -> bool:
    return _down_since is not None


class OutageLines(logging.Filter):
    """While this process is in a database outage, Django's per-request lines about its 503s go:
    the outage has its line, and one per request (with a traceback) would bury it."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name == "django.request" and getattr(record, "status_code", None) == 503:
            return not in_outage()
        return True
