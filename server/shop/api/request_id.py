"""X-Request-ID: accepted from the client when it is safe to log, generated otherwise.

django-guid keeps the id in a context variable for the request (and, through Celery's message
headers, for the tasks it publishes), returns it in the response header and gives it to every log
line. It accepts whatever the client sends; this middleware runs before it and drops an id that is
not 1-128 characters of `A-Z a-z 0-9 . _ : -`, so django-guid generates a fresh one instead: a
request id never carries spaces, quotes, `=` or newlines into a log line, nor a megabyte of text.
It also forgets the id when the response is closed (django-guid leaves it set in the thread)."""

import re
from collections.abc import Callable

from django.core.signals import request_finished
from django.http import HttpRequest, HttpResponse
from django_guid import clear_guid, get_guid

REQUEST_ID_HEADER = "X-Request-ID"
REQUEST_ID_META = "HTTP_X_REQUEST_ID"
SAFE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")


def drop_unsafe_request_id(get_response: Callable[[HttpRequest], HttpResponse]):
    def middleware(request: HttpRequest) -> HttpResponse:
        given = request.META.get(REQUEST_ID_META)
        if given is not None and not SAFE_REQUEST_ID.fullmatch(given):
            del request.META[REQUEST_ID_META]
        return get_response(request)

    return middleware


def _forget_request_id(**kwargs) -> None:
    clear_guid()


# When the response is closed: after Django's own `django.request` line for a 4xx/5xx (written
# outside every middleware), so that line still names the request, and before the thread's next.
request_finished.connect(_forget_request_id, dispatch_uid="shop.api.request_id.forget")


def current_request_id() -> str | None:
    """The id of the request (or task) this code runs for; None outside of both."""
    return get_guid()
