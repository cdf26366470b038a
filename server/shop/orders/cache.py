"""The order detail cache: one entry per order, stored with the owner's id so that the
permission check runs before any cached body is returned."""

from django.conf import settings

from shop.api.cache import bodies, entity_tag


def _keys(order_id: int) -> tuple[str, str]:
    return f"orders:detail:{order_id}", f"orders:detail:{order_id}:version"


def cached_order_detail(order_id: int) -> tuple[tuple[int, bytes] | None, int, str]:
    """Returns ((owner_id, body) or None, the version, its ETag)."""
    key, version_key = _keys(order_id)
    cached, version = bodies.lookup(key, version_key)
    return cached, version, entity_tag(key, version)


def store_order_detail(order_id: int, version: int, owner_id: int, body: bytes) -> None:
    key, _ = _keys(order_id)
    bodies.store(key, version, (owner_id, body), timeout=settings.ORDER_DETAIL_CACHE_TTL)


def invalidate_order_detail(order_id: int) -> None:
    bodies.bump(_keys(order_id)[1])
