"""Caching of whole response bodies, never stale and failing open.

Each cached body is stored together with the *version* of the data it was built from, and is
valid only while the version key still holds that version. Readers fetch both in one round trip
(`get_many`) and read the version *before* they read the database; writers bump the version
*after* their transaction commits. A reader that raced a writer therefore stores its body under
the old version, where nobody will ever accept it: no window in which stale data is re-cached.

Memcached being down or slow reads as a miss (pymemcache `ignore_exc` and short timeouts); the
backend below logs a warning when it gives up on a server.
"""

import hashlib
import logging
import threading
import time
from collections.abc import Callable
from typing import Any, NamedTuple

from django.core.cache import caches
from django.core.signals import setting_changed
from django.dispatch import receiver
from pymemcache.exceptions import MemcacheError

logger = logging.getLogger(__name__)


def hashed_key(prefix: str, text: str) -> str:
    """A key of bounded length (Memcached allows 250 bytes) whatever `text` is."""
    return f"{prefix}:{hashlib.sha256(text.encode()).hexdigest()}"


class _ThreadCaches(threading.local):
    default = None


_thread_caches = _ThreadCaches()


def default_cache():
    """The default cache's backend as `caches["default"]` hands it to this thread, looked up once
    per thread. Django's `cache` proxy looks it up again, in the connection handler's
    context-local storage, on every attribute access: about 30,000 CPU instructions, more than a
    fifth of what a Memcached read costs in all (`make bench-instructions`)."""
    backend = _thread_caches.default
    if backend is None:
        backend = _thread_caches.default = caches["default"]
    return backend


@receiver(setting_changed)
def _forget_cache_backends(*, setting: str, **kwargs) -> None:
    """A test that changes CACHES gets the backends Django makes for the new setting."""
    global _thread_caches
    if setting == "CACHES":
        _thread_caches = _ThreadCaches()


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
        cache = default_cache()
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
        default_cache().set(key, (stamp.versions, stamp.at, payload), timeout=timeout)

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
