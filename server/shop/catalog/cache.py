"""The product cache: one list entry per validated query and one entry per product (see
shop/core/cache.py for why a version-checked body cannot be served stale).

Two kinds of change, versioned apart:

- **the catalog** (a product created, edited, retired: `CATALOG_VERSION`): every list page and
  every product is invalidated at once, and shows the change at once;
- **stock moved by orders** (placed or cancelled): this happens with every order, so it bumps
  only `STOCK_VERSION` and the version of each product it moved. A product's own page is exact
  (its entry checks its product's stock version). A list page built before the move stays a hit
  for at most `PRODUCT_LIST_STOCK_LAG` seconds after it was read from the database: under a flow
  of orders each page is rebuilt at most once per lag instead of after every order, and the
  stock it shows is never older than the lag (0 makes it exact).
"""

import functools
from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpRequest

from shop.core.cache import Stamp, bodies, hashed_key
from shop.core.etags import entity_tag

CATALOG_VERSION = "catalog:products:version"
STOCK_VERSION = "catalog:stock:version"


@functools.lru_cache(maxsize=4096)
def _list_key(query: tuple[tuple[str, str], ...]) -> str:
    """The key of the query as the contract validated it (`contract_query`: the contract's
    parameters only, one spelling per value, sorted): queries the view answers alike share a
    page, and a parameter the view ignores cannot make a new entry. Remembered per process
    (encoding and hashing the query cost about 1 % of a hit's CPU instructions). The entry
    holds (its ETag, the body): `list.2` since the tag is stored with it, so a process still
    running the code before can never read one as its body."""
    return hashed_key("catalog:products:list.2", urlencode(query))


def _stock_lag(stored: Stamp, current: Stamp) -> bool:
    """A page built before orders moved stock, but within the lag and the same catalog."""
    same_catalog = stored.versions[0] == current.versions[0]
    return same_catalog and current.at - stored.at <= settings.PRODUCT_LIST_STOCK_LAG


def cached_product_list(request: HttpRequest) -> tuple[bytes | None, Stamp, str]:
    """Returns (the cached body or None, the stamp to store a fresh one with, the ETag of the
    body served: the cached one's, stored with it, or the fresh one's). The tag is of the key and
    the versions the body is stored under, so it changes with them and costs no hashing on a hit."""
    key = _list_key(request.contract_query)
    cached, stamp = bodies.lookup(key, CATALOG_VERSION, STOCK_VERSION, lag=_stock_lag)
    if cached is not None:
        etag, body = cached
        return body, stamp, etag
    return None, stamp, entity_tag(key, stamp.versions)


def store_product_list(request: HttpRequest, stamp: Stamp, etag: str, body: bytes) -> None:
    key = _list_key(request.contract_query)
    bodies.store(key, stamp, (etag, body), timeout=settings.PRODUCT_LIST_CACHE_TTL)


def _detail_keys(product_id: int) -> tuple[str, str]:
    return f"catalog:products:detail:{product_id}", f"catalog:stock:{product_id}:version"


def cached_product_detail(product_id: int) -> tuple[tuple[str, bytes] | None, Stamp]:
    """One product as (its ETag, its body) or None, and the stamp to store a fresh one with. Valid
    while neither the catalog nor this product's stock moved; its tag is of its representation."""
    key, stock_version = _detail_keys(product_id)
    return bodies.lookup(key, CATALOG_VERSION, stock_version)


def store_product_detail(product_id: int, stamp: Stamp, etag: str, body: bytes) -> None:
    bodies.store(_detail_keys(product_id)[0], stamp, (etag, body), timeout=settings.PRODUCT_LIST_CACHE_TTL)


def invalidate_catalog() -> None:
    bodies.bump(CATALOG_VERSION)


def invalidate_stock(product_ids) -> None:
    """Orders moved the stock of these products: one round trip, whatever their number."""
    bodies.bump(STOCK_VERSION, *(_detail_keys(pk)[1] for pk in sorted(set(product_ids))))
