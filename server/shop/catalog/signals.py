"""Cache invalidation for the catalog, and the announcement that stock changed.

Stock moves by `bulk_update` when orders are placed or cancelled, which fires no `post_save`:
the order services announce it with `stock_changed` instead."""

from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import Signal, receiver

from .cache import invalidate_product_list
from .models import Product

stock_changed = Signal()  # sender: the announcing module's name; product_ids: the products


@receiver(post_save, sender=Product, dispatch_uid="catalog_product_saved")
@receiver(post_delete, sender=Product, dispatch_uid="catalog_product_deleted")
@receiver(stock_changed, dispatch_uid="catalog_stock_changed")
def _invalidate_product_list(**kwargs) -> None:
    # After commit: a reader must not re-cache the old rows between the write and the commit.
    transaction.on_commit(invalidate_product_list)
