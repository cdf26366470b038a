"""Rate limits that keep limiting when the shared counter store is lost.

DRF's throttles keep their counters in a cache. Ours is Memcached, read through a client that
fails open (a lost server reads as a miss), which for a throttle means no limit at all. The
throttles here use the `throttle` cache alias instead, whose client raises, and fall back to this
process's own memory while it does: the limit then holds per process (at most the rate times the
number of web processes in all) until Memcached answers again."""

import hashlib
import logging

from django.core.cache import caches
from django.core.cache.backends.locmem import LocMemCache
from pymemcache.exceptions import MemcacheError
from rest_framework import throttling

logger = logging.getLogger(__name__)

THROTTLE_CACHE_ALIAS = "throttle"


class FailoverThrottleCache:
    """The cache DRF's throttles see: the shared store while it answers, process memory when not."""

    def __init__(self) -> None:
        self.local = LocMemCache("throttle-fallback", {"OPTIONS": {"MAX_ENTRIES": 100_000}})
        self.degraded = False

    def _shared_or_local(self, operation: str, *args):
        try:
            result = getattr(caches[THROTTLE_CACHE_ALIAS], operation)(*args)
        except (MemcacheError, OSError) as exc:
            if not self.degraded:
                logger.warning("event=throttle_store_unavailable error=%r action=limit_per_process", exc)
                self.degraded = True
            return getattr(self.local, operation)(*args)
        if self.degraded:
            logger.warning("event=throttle_store_available action=limit_shared")
            self.degraded = False
        return result

    def get(self, key, default=None):
        return self._shared_or_local("get", key, default)

    def set(self, key, value, timeout=None):
        return self._shared_or_local("set", key, value, timeout)


failover_cache = FailoverThrottleCache()


class ScopedRateThrottle(throttling.ScopedRateThrottle):
    """DRF's scoped throttle (the view's `throttle_scope`), on the failover cache."""

    cache = failover_cache


class OrderCreateThrottle(throttling.UserRateThrottle):
    """Orders placed per user (THROTTLE_ORDER_CREATE_RATE): one stolen token cannot drain stock
    with thousands of small orders."""

    scope = "order_create"
    cache = failover_cache


class BodyFieldRateThrottle(throttling.SimpleRateThrottle):
    """Requests per value of one body field (`field`, compared case-insensitively, kept hashed):
    a limit per e-mail address, whichever client sends it. No value, no limit here."""

    cache = failover_cache
    field = ""

    def get_cache_key(self, request, view):
        value = request.data.get(self.field) if isinstance(request.data, dict) else None
        if not isinstance(value, str) or not value:
            return None
        ident = hashlib.sha256(value.strip().lower().encode()).hexdigest()
        return self.cache_format % {"scope": self.scope, "ident": ident}
