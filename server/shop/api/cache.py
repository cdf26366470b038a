"""Caching of whole response bodies, never stale and failing open.

Each cached body is stored together with the *version* of the data it was built from, and is
valid only while the version key still holds that version. Readers fetch both in one round trip
(`get_many`) and read the version *before* they read the database; writers bump the version
*after* their transaction commits. A reader that raced a writer therefore stores its body under
the old version, where nobody will ever accept it: no window in which stale data is re-cached.

Memcached being down or slow reads as a miss (pymemcache `ignore_exc` and short timeouts); the
backend below logs a warning when it gives up on a server.
"""

import functools
import hashlib
import logging
import time
from collections.abc import Callable
from typing import Any, NamedTuple

from django.core.cache import cache, caches
from django.core.cache.backends.memcached import PyMemcacheCache
from django.http import HttpRequest, HttpResponse, HttpResponseNotModified
from django.utils.http import parse_etags
from pymemcache.client.base import check_key_helper
from pymemcache.client.hash import HashClient
from pymemcache.exceptions import MemcacheError

from .metrics import CACHE_LOOKUPS

logger = logging.getLogger(__name__)


class PinnedHashClient(HashClient):
    """pymemcache's HashClient, except that a key never moves to another server.

    The stock client takes a failing server out of its hash ring, so its keys move to the other
    servers until it is added back. With several processes that is a split brain: one process
    that saw a server fail during a restart writes a key (a version bump, a throttle counter) on
    the other server while every process that did not see the failure keeps reading the first
    one, and serves what the bump was meant to invalidate. Here a server marked down keeps its
    keys: they read as misses (or raise, with `ignore_exc=False`, so an invalidation is recorded
    and redelivered) until `dead_timeout` has passed and the server is tried again."""

    def remove_server(self, server, port=None) -> None:
        if port is not None:
            server = (server, port)
        self._failed_clients.pop(server, None)
        self._dead_clients[server] = time.time()

    def _retry_dead(self) -> None:
        now = time.time()
        for server, dead_since in list(self._dead_clients.items()):
            if now - dead_since > self.dead_timeout:
                logger.info("event=cache_server_retry server=%s:%s", *server)
                del self._dead_clients[server]

    def _get_client(self, key):
        if len(self.clients) == 1:  # every key is on the one server: no rendezvous hash to compute
            check_key_helper(key, self.allow_unicode_keys, self.key_prefix)
            if self._dead_clients:
                self._retry_dead()
            client = next(iter(self.clients.values()))
        else:
            client = super()._get_client(key)
        if client is not None and client.server in self._dead_clients:
            if self.ignore_exc:
                return None  # a miss, not a read of another server's copy
            raise MemcacheError(f"{client.server[0]}:{client.server[1]} is marked down")
        return client

    def get_many(self, keys, gets=False, *args, **kwargs):
        """With one server, every key goes to it in one call: no batching of the keys by server
        (about 2 % of a cached read's CPU, py-spy). The server's client checks every key, and a
        server marked down reads as a miss, or raises, exactly as in the stock batching."""
        if len(self.clients) != 1 or not keys:
            return super().get_many(keys, gets, *args, **kwargs)
        keys = list(keys)
        for key in keys[1:]:  # an illegal key raises here, as in the stock batching
            check_key_helper(key, self.allow_unicode_keys, self.key_prefix)
        client = self._get_client(keys[0])
        if client is None:
            return {}
        fetch = client.gets_many if gets else client.get_many
        return self._safely_run_func(client, fetch, {}, keys, *args, **kwargs)

    def _mark_failed_server(self, server) -> None:
        logger.warning("event=cache_unavailable server=%s:%s action=serve_from_database", *server)
        super()._mark_failed_server(server)


class FailOpenPyMemcacheCache(PyMemcacheCache):
    """Django's PyMemcacheCache on `PinnedHashClient` (keys stay on their server; a failure is
    logged), keeping its pooled connections between requests."""

    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = PinnedHashClient

    def close(self, **kwargs) -> None:
        # Django calls this at the end of every request, and the stock backend then drops every
        # connection: the next request pays a DNS lookup and a TCP connect per server (16 % of a
        # cached read's time under load, measured with py-spy). The pool is safe to keep.
        pass


def hashed_key(prefix: str, text: str) -> str:
    """A key of bounded length (Memcached allows 250 bytes) whatever `text` is."""
    return f"{prefix}:{hashlib.sha256(text.encode()).hexdigest()}"


_last_version = 0


def _fresh_version() -> int:
    """A version no bump wrote before: the wall clock in ns (never strictly the same value twice
    in one process, even on a coarse clock). A bump that could repeat an earlier value would have
    to read the clock before the reader it must invalidate read the version, which read it after
    the earlier bump wrote it. Time-based, so an evicted version key never comes back old."""
    global _last_version
    _last_version = max(time.time_ns(), _last_version + 1)
    return _last_version


class Stamp(NamedTuple):
    """The versions a body is (to be) stored under, and when they were read (before the database
    was: what a lag is counted from). A named tuple: made twice per cached read, where a frozen
    dataclass's `__init__` costs several times as much."""

    versions: tuple[int, ...]
    at: float


class VersionedBodies:
    """Bodies valid while their version keys hold the versions they were stored with."""

    def lookup(
        self, key: str, *version_keys: str, lag: Callable[[Stamp, Stamp], bool] | None = None
    ) -> tuple[Any | None, Stamp]:
        """The body and its versions in one round trip. Returns (payload, the stamp it was stored
        with) on a hit, or (None, the stamp to store a fresh payload with) on a miss. A payload
        stored under other versions is a hit only when `lag(stored, current)` allows it (where
        the data allows a bounded lag)."""
        values = cache.get_many([key, *version_keys])
        missing = [version_key for version_key in version_keys if values.get(version_key) is None]
        for version_key in missing:
            cache.add(version_key, _fresh_version(), timeout=None)
        if missing:
            values.update(cache.get_many(missing))
        current = Stamp(tuple(values.get(k) or _fresh_version() for k in version_keys), time.time())
        entry = values.get(key)
        if isinstance(entry, tuple) and len(entry) == 3:
            stored = Stamp(entry[0], entry[1])
            if stored.versions == current.versions or (lag is not None and lag(stored, current)):
                return entry[2], stored
        return None, current

    def store(self, key: str, stamp: Stamp, payload: Any, timeout: int) -> None:
        cache.set(key, (stamp.versions, stamp.at, payload), timeout=timeout)

    def bump(self, *version_keys: str) -> None:
        """Invalidates every body stored under the current versions of these keys, in one round
        trip. When Memcached cannot be reached from this process, the invalidation is not
        dropped: it is recorded in the database and the worker delivers it
        (`deliver_invalidations`)."""
        try:
            _bump_many(version_keys)
        except (MemcacheError, OSError) as exc:
            from .models import UndeliveredInvalidation

            UndeliveredInvalidation.objects.bulk_create(
                UndeliveredInvalidation(key=key) for key in version_keys
            )
            logger.warning(
                'event=invalidation_undelivered key=%s error="%s: %s" action=left_for_worker',
                ",".join(version_keys),
                type(exc).__name__,
                exc,
            )


def _bump_many(version_keys: tuple[str, ...]) -> None:
    """Gives each key a new version (any new value invalidates: `_fresh_version` never repeats one).
    Raises when Memcached cannot be reached (the `invalidation` client does not fail open)."""
    fresh = _fresh_version()
    failed = caches["invalidation"].set_many({key: fresh for key in version_keys}, timeout=None)
    if failed:
        raise MemcacheError(f"not stored: {', '.join(failed)}")


def _bump(version_key: str) -> None:
    _bump_many((version_key,))


def deliver_invalidations(batch: int = 500) -> int:
    """Bumps the versions that processes could not, oldest first; stops at the first that this
    process cannot deliver either (the next run tries again). Returns how many it delivered."""
    from .models import UndeliveredInvalidation

    delivered = 0
    for pending in UndeliveredInvalidation.objects.all()[:batch]:
        try:
            _bump(pending.key)
        except (MemcacheError, OSError):
            break
        pending.delete()
        delivered += 1
    if delivered:
        logger.info("event=invalidations_delivered count=%d", delivered)
    return delivered


bodies = VersionedBodies()


def representation_tag(body: bytes) -> str:
    """A strong ETag of exactly these bytes (RFC 9110 section 8.8.3): it changes when, and only
    when, the representation does."""
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def entity_tag(key: str, versions: tuple[int, ...]) -> str:
    """The strong ETag of the body stored under `key` at `versions`: it changes with them (every
    write behind the body bumps one), so it costs no database work to compute or check."""
    return representation_tag(f"{key}@{'.'.join(map(str, versions))}".encode())


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
