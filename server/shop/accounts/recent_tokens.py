"""Access tokens this process verified in the last TOKEN_CACHE_SECONDS (at most 2), with their
users: a repeated request skips the token's signature check and the user's Memcached read.

The bound is a product decision (README, "Security"): a deactivation or a password change made in
another process is seen here within TOKEN_CACHE_SECONDS; the process that makes the change drops
the user's entries as the change commits (signals.py), so it never serves the old state. An entry
never outlives its token, and each hit hands out a copy of the user, so a view that changes its
`request.user` (a password change) changes no other request's."""

import threading
import time
from collections import OrderedDict
from typing import Any

from django.conf import settings
from django.db.models.base import ModelState

MAX_ENTRIES = 10_000


class RecentTokens:
    def __init__(self, max_entries: int = MAX_ENTRIES) -> None:
        self._entries: OrderedDict[bytes, tuple[float, Any, Any]] = OrderedDict()
        self._lock = threading.Lock()
        self._max_entries = max_entries

    def get(self, raw_token: bytes) -> tuple[Any, Any] | None:
        """(a copy of the user, the validated token), or None when not verified recently."""
        with self._lock:
            entry = self._entries.get(raw_token)
            if entry is None:
                return None
            until, user, token = entry
            if time.monotonic() >= until:
                del self._entries[raw_token]
                return None
        return _copy(user), token

    def put(self, raw_token: bytes, user, token) -> None:
        seconds = min(settings.TOKEN_CACHE_SECONDS, token["exp"] - time.time())
        if seconds <= 0:
            return
        with self._lock:
            self._entries[raw_token] = (time.monotonic() + seconds, user, token)
            self._entries.move_to_end(raw_token)
            while len(self._entries) > self._max_entries:
                self._entries.popitem(last=False)

    def forget_users(self, user_ids) -> None:
        user_ids = set(user_ids)
        with self._lock:
            for raw_token in [key for key, (_, user, _) in self._entries.items() if user.pk in user_ids]:
                del self._entries[raw_token]

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


def _copy(user):
    """What `copy.copy` makes of a model instance (its own `_state` and field cache), without the
    pickling protocol's round trip through the app registry and `copy.copy` of its state (3 % of
    a cached read's CPU, py-spy)."""
    clone = user.__class__.__new__(user.__class__)
    clone.__dict__.update(user.__dict__)
    state = ModelState()
    state.__dict__.update(user._state.__dict__)
    state.fields_cache = dict(user._state.fields_cache)
    clone._state = state
    return clone


recent_tokens = RecentTokens()
