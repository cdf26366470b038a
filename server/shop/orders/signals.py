"""Cache invalidation for orders: anything shown in an order's representation changed.

Writing the rows of an order that is being created invalidates nothing: nothing of it can be
cached yet (a read of it before it existed was a 404, which is never stored), and placing an order
would otherwise bump its version twice (the order, its history), two
Memcached round trips after the commit for nothing. `place_order` writes them `while_creating()`.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import partial

from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from .cache import invalidate_order_detail
from .models import Order, OrderItem, OrderStatusChange, ShippingAddressChange

_creating: ContextVar[bool] = ContextVar("creating_an_order", default=False)


@contextmanager
def while_creating() -> Iterator[None]:
    """The rows written inside are those of a new order: no invalidation."""
    token = _creating.set(True)
    try:
        yield
    finally:
        _creating.reset(token)


def _invalidate_after_commit(order_id: int | None) -> None:
    if order_id is not None and not _creating.get():
        transaction.on_commit(partial(invalidate_order_detail, order_id))


@receiver(post_save, sender=Order, dispatch_uid="orders_order_saved")
@receiver(post_delete, sender=Order, dispatch_uid="orders_order_deleted")
def _order_changed(instance: Order, **kwargs) -> None:
    _invalidate_after_commit(instance.pk)


@receiver(post_save, sender=OrderItem, dispatch_uid="orders_item_saved")
@receiver(post_delete, sender=OrderItem, dispatch_uid="orders_item_deleted")
@receiver(post_save, sender=OrderStatusChange, dispatch_uid="orders_status_change_saved")
@receiver(post_save, sender=ShippingAddressChange, dispatch_uid="orders_address_change_saved")
def _part_of_order_changed(instance, **kwargs) -> None:
    _invalidate_after_commit(instance.order_id)
