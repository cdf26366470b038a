"""The order detail cache: one entry per order, stored with the owner's id so that the
permission check runs before any cached body is returned."""

from django.conf import settings

from shop.core.cache import Stamp, bodies


def _keys(order_id: int) -> tuple[str, str]:
    return f"orders:detail:{order_id}", f"orders:detail:{order_id}:version"


def cached_order_detail(order_id: int) -> tuple[tuple[int, str, bytes] | None, Stamp]:
    """Returns ((owner_id, ETag, body) or None, the stamp to store a fresh body with)."""
    key, version_key = _keys(order_id)
    return bodies.lookup(key, version_key)


def store_order_detail(order_id: int, stamp: Stamp, owner_id: int, etag: str, body: bytes) -> None:
    key, _ = _keys(order_id)
    bodies.store(key, stamp, (owner_id, etag, body), timeout=settings.ORDER_DETAIL_CACHE_TTL)


def invalidate_order_detail(*order_ids: int) -> None:
    """Drops these orders' cached representations, in one round trip."""
    bodies.bump(*(_keys(order_id)[1] for order_id in order_ids))
