"""The authenticated user's row, cached so that a cached read costs no query at all. Stored under
the user's version like the response bodies (shop/core/cache.py): a reader reads the version before
the row, a writer bumps it after commit, so a row read just before a change commits (a
deactivation, a password change) is stored under a version nobody accepts any more."""

from django.conf import settings

from shop.core.cache import Stamp, bodies

from .models import User


def _keys(user_id) -> tuple[str, str]:
    return f"accounts:user:{user_id}", f"accounts:user:{user_id}:version"


def cached_user(user_id) -> tuple[User | None, Stamp]:
    """Returns (the cached user or None, the stamp to store a fresh read with)."""
    return bodies.lookup(*_keys(user_id))


def store_user(user_id, stamp: Stamp, user: User) -> None:
    bodies.store(_keys(user_id)[0], stamp, user, timeout=settings.USER_CACHE_TTL)


def invalidate_users(user_ids) -> None:
    bodies.bump(*(_keys(user_id)[1] for user_id in user_ids))
