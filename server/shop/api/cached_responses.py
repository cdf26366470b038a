"""The HTTP side of cached reads: `ETag`, private caching headers, `X-Cache`, 304s, and the
counter of cache lookups per view. The cache itself is `shop.core.cache`."""

import functools
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, HttpResponseNotModified
from django.utils.http import parse_etags

from .metrics import CACHE_LOOKUPS


def none_match(request: HttpRequest, etag: str) -> bool:
    """Whether `If-None-Match` names `etag` (weak comparison, RFC 9110 section 13.1.2) or is `*`."""
    header = request.META.get("HTTP_IF_NONE_MATCH")
    if not header:
        return False
    tags = parse_etags(header)
    return "*" in tags or etag in {tag.removeprefix("W/") for tag in tags}


def _validated(response: HttpResponse, etag: str) -> HttpResponse:
    """The `ETag`, and the caching headers of a response that depends on the caller's token and
    is never shared: a 200 and its 304 carry the same. Every response that comes here was just
    made, with no `Cache-Control` or `Vary` yet: the headers are set, not merged (parsing and
    merging them cost more than the rest of a hit's headers)."""
    response["ETag"] = etag
    response["Cache-Control"] = "private"
    response["Vary"] = "Authorization"
    return response


def mark_cached(response: HttpResponse, *, hit: bool, etag: str) -> HttpResponse:
    """`X-Cache: HIT|MISS`, the `ETag` and the private caching headers."""
    response["X-Cache"] = "HIT" if hit else "MISS"
    return _validated(response, etag)


def not_modified(etag: str, *, view: str) -> HttpResponse:
    """304: the client's copy is current. The same validators and caching headers as a 200."""
    _lookups(view, "not_modified").inc()
    return _validated(HttpResponseNotModified(), etag)


@functools.cache
def _lookups(view: str, result: str):
    """The counter's child for a view (a name in the code) and an outcome, looked up once."""
    return CACHE_LOOKUPS.labels(view, result)


def cached_json(body: bytes, *, view: str, etag: str) -> HttpResponse:
    _lookups(view, "hit").inc()
    return mark_cached(HttpResponse(body, content_type="application/json"), hit=True, etag=etag)


def fresh_json(body: bytes, *, view: str, etag: str) -> HttpResponse:
    """A body rendered by the view itself (a miss) and already stored."""
    _lookups(view, "miss").inc()
    return mark_cached(HttpResponse(body, content_type="application/json"), hit=False, etag=etag)


def store_after_render(response, store: Callable[[bytes], None], *, view: str, etag: str):
    """Stores the final bytes of a 200 response once DRF has rendered it."""
    _lookups(view, "miss").inc()

    def callback(rendered):
        if rendered.status_code == 200:
            store(rendered.content)

    response.add_post_render_callback(callback)
    return mark_cached(response, hit=False, etag=etag)


def cached_read(
    request: HttpRequest,
    *,
    view: str,
    cached: tuple[str, bytes] | None,
    render: Callable[[], tuple[bytes, str]],
) -> HttpResponse:
    """The answer of a cached GET of one resource, after its permission check: `cached` is the
    (ETag, body) the cache holds, or None, and then `render()` reads, renders and stores it,
    returning (body, ETag). A 304 when `If-None-Match` names the tag, else the body, marked a hit
    or a miss."""
    if cached is not None:
        etag, body = cached  # as the cache stores it: the tag first
        answer = cached_json
    else:
        body, etag = render()
        answer = fresh_json
    if none_match(request, etag):
        return not_modified(etag, view=view)
    return answer(body, view=view, etag=etag)
