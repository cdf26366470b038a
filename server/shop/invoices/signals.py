"""An order's representation shows whether its invoice is ready (`report_url`)."""

from functools import partial

from django.db import transaction
from django.db.models.signals import post_save
from django.dispatch import receiver

from shop.orders.cache import invalidate_order_detail

from .models import Invoice


@receiver(post_save, sender=Invoice, dispatch_uid="invoices_invoice_saved")
def _invoice_saved(instance: Invoice, **kwargs) -> None:
    transaction.on_commit(partial(invalidate_order_detail, instance.order_id))
