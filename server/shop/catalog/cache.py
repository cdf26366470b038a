"""The product cache: one list entry per normalized query string and one entry per product, all
invalidated at once by bumping the catalog's version (see shop/api/cache.py for why this cannot
serve stale data)."""

from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpRequest

from shop.api.cache import bodies, entity_tag, hashed_key

VERSION_KEY = "catalog:products:version"


def _key(request: HttpRequest) -> str:
    normalized = urlencode(sorted((k, v) for k, values in request.GET.lists() for v in values))
    return hashed_key("catalog:products:list", normalized)


def cached_product_list(request: HttpRequest) -> tuple[bytes | None, int, str]:
    """Returns (the cached body or None, the version to store a fresh one under, its ETag)."""
    key = _key(request)
    body, version = bodies.lookup(key, VERSION_KEY)
    return body, version, entity_tag(key, version)


def store_product_list(request: HttpRequest, version: int, body: bytes) -> None:
    bodies.store(_key(request), version, body, timeout=settings.PRODUCT_LIST_CACHE_TTL)


def _detail_key(product_id: int) -> str:
    return f"catalog:products:detail:{product_id}"


def cached_product_detail(product_id: int) -> tuple[tuple[str, bytes] | None, int]:
    """One product as (its ETag, its body) or None, under the same catalog version as the list,
    and the version to store a fresh one under. Its tag is of its own representation (an order
    for another product moves the version, not this tag)."""
    return bodies.lookup(_detail_key(product_id), VERSION_KEY)


def store_product_detail(product_id: int, version: int, etag: str, body: bytes) -> None:
    bodies.store(_detail_key(product_id), version, (etag, body), timeout=settings.PRODUCT_LIST_CACHE_TTL)


def invalidate_product_list() -> None:
    bodies.bump(VERSION_KEY)
