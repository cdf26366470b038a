"""The benchmark's ceiling: the cost of Django plus one Memcached read, with no authentication
and no request validation. Routed only when BENCH_CEILING is on (`make bench` sets it)."""

from django.core.cache import cache
from django.http import HttpRequest, HttpResponse

CEILING_KEY = "bench:ceiling"
CEILING_BODY = b'{"status": "ok"}'


def ceiling(request: HttpRequest) -> HttpResponse:
    body = cache.get(CEILING_KEY)
    if body is None:
        body = CEILING_BODY
        cache.set(CEILING_KEY, body, timeout=None)
    return HttpResponse(body, content_type="application/json")
