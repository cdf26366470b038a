"""Cache invalidation for the catalog, and the announcement that orders moved stock.

Stock moves by `bulk_update` when orders are placed or cancelled, which fires no `post_save`:
the order services announce it with `stock_changed` instead, and it invalidates less than an
edit of the catalog does (shop/catalog/cache.py)."""

from functools import partial

from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import Signal, receiver

from .cache import invalidate_catalog, invalidate_stock
from .models import Product

stock_changed = Signal()  # sender: the announcing module's name; product_ids: the products


# After commit: a reader must not re-cache the old rows between the write and the commit.
@receiver(post_save, sender=Product, dispatch_uid="catalog_product_saved")
@receiver(post_delete, sender=Product, dispatch_uid="catalog_product_deleted")
def _invalidate_catalog(**kwargs) -> None:
    transaction.on_commit(invalidate_catalog)


@receiver(stock_changed, dispatch_uid="catalog_stock_changed")
def _invalidate_stock(*, product_ids, **kwargs) -> None:
    transaction.on_commit(partial(invalidate_stock, product_ids))
