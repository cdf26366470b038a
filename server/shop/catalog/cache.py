"""The product list cache: one entry per normalized query string, all invalidated at once by
bumping the catalog's version (see shop/api/cache.py for why this cannot serve stale data)."""

from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpRequest

from shop.api.cache import bodies, hashed_key

VERSION_KEY = "catalog:products:version"


def _key(request: HttpRequest) -> str:
    normalized = urlencode(sorted((k, v) for k, values in request.GET.lists() for v in values))
    return hashed_key("catalog:products:list", normalized)


def cached_product_list(request: HttpRequest) -> tuple[bytes | None, int]:
    return bodies.lookup(_key(request), VERSION_KEY)


def store_product_list(request: HttpRequest, version: int, body: bytes) -> None:
    bodies.store(_key(request), version, body, timeout=settings.PRODUCT_LIST_CACHE_TTL)


def invalidate_product_list() -> None:
    bodies.bump(VERSION_KEY)
