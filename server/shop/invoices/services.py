"""Writing and reading invoice files: the outbox's `invoice` kind (registered in apps.py)."""

import logging
import time

from django.conf import settings
from django.core.files.base import ContentFile
from django.utils import timezone

from shop.orders.cache import invalidate_order_detail
from shop.orders.models import Order
from shop.outbox.kinds import Outcome, Upsert
from shop.outbox.models import Entry, EntryStatus
from shop.outbox.preload import Preloaded

from .models import Invoice, invoice_storage
from .pdf import render_invoice

logger = logging.getLogger(__name__)


# What an invoice shows of its order: read for a whole batch of invoices at once (shop.outbox.preload).
orders = Preloaded(
    lambda: Order.objects.select_related("user", "shipping_address", "billing_address").prefetch_related(
        "items"
    )
)


def invoice_name(order_id: int) -> str:
    """The stable name of an order's invoice in its storage: re-generating replaces it, never adds one."""
    return f"{settings.INVOICE_DIR}/order-{order_id}.pdf"


def generate_invoice(entry: Entry) -> Outcome:
    """Writes the PDF of the order `entry.object_id` and records its invoice with the outcome.
    Safe to run again: the file has a stable name and is replaced atomically. The invoice is
    recorded (and shown as ready) only in the commit after its file is stored. Any error, a store
    that does not answer among them, is a failed attempt (the outbox retries it, then gives up;
    the confirmation e-mail that waits for the invoice then goes out without the attachment)."""
    order = orders.get(entry.object_id)
    if order is None:
        return Outcome(EntryStatus.SKIPPED, "the order no longer exists")
    started = time.perf_counter()
    pdf = render_invoice(order)
    rendered = time.perf_counter()
    name = invoice_storage().save(invoice_name(order.pk), ContentFile(pdf))
    logger.info(
        "event=invoice_rendered order_id=%s render_ms=%.1f store_ms=%.1f bytes=%d",
        order.pk,
        (rendered - started) * 1000,
        (time.perf_counter() - rendered) * 1000,
        len(pdf),
    )
    return Outcome(record=_record(order.pk, name))


def _record(order_id: int, file: str) -> Upsert:
    """With the entry's outcome, in its commit: the invoice row, inserted or (written again)
    updated, and after the commit the order's cached representation, which shows it, dropped. A
    batch's invoices are one statement and one drop (shop.outbox.kinds.write_records)."""
    return Upsert(
        Invoice(order_id=order_id, file=file, generated_at=timezone.now()),
        unique_fields=("order",),
        update_fields=("file", "generated_at"),
        then=invalidate_order_detail,
    )
