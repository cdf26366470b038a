"""Cache invalidation for orders: anything shown in an order's representation changed."""

from functools import partial

from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from .cache import invalidate_order_detail
from .models import Order, OrderItem, OrderStatusChange


def _invalidate_after_commit(order_id: int | None) -> None:
    if order_id is not None:
        transaction.on_commit(partial(invalidate_order_detail, order_id))


@receiver(post_save, sender=Order, dispatch_uid="orders_order_saved")
@receiver(post_delete, sender=Order, dispatch_uid="orders_order_deleted")
def _order_changed(instance: Order, **kwargs) -> None:
    _invalidate_after_commit(instance.pk)


@receiver(post_save, sender=OrderItem, dispatch_uid="orders_item_saved")
@receiver(post_delete, sender=OrderItem, dispatch_uid="orders_item_deleted")
@receiver(post_save, sender=OrderStatusChange, dispatch_uid="orders_status_change_saved")
@receiver(post_save, sender="invoices.Invoice", dispatch_uid="orders_invoice_saved")  # report_url
def _part_of_order_changed(instance, **kwargs) -> None:
    _invalidate_after_commit(instance.order_id)
