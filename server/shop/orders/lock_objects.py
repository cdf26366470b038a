"""Row locks, always taken in one order (primary key) so that two transactions that lock the
same rows can never wait for each other in a cycle."""

from collections.abc import Iterable

from django.db.models import QuerySet

from shop.catalog.models import Product

from .models import Order


def products_for_update(product_ids: Iterable[int]) -> QuerySet[Product]:
    """Locks the given products in primary-key order, in one query."""
    return Product.objects.filter(pk__in=list(product_ids)).order_by("pk").select_for_update(of=("self",))


def order_for_update(order_id: int) -> QuerySet[Order]:
    return Order.objects.filter(pk=order_id).select_for_update(of=("self",))
