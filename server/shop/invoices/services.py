"""Writing and reading invoice files: the outbox's `invoice` kind (registered in apps.py)."""

import logging
import os
import tempfile
import time
from functools import partial
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from shop.orders.cache import invalidate_order_detail
from shop.orders.models import Order
from shop.outbox.kinds import Outcome
from shop.outbox.models import Entry, EntryStatus

from .models import Invoice
from .pdf import render_invoice

logger = logging.getLogger(__name__)


def invoice_path(order_id: int) -> Path:
    """The stable file name of an order's invoice: re-generating rewrites it, never adds one."""
    return Path(settings.MEDIA_ROOT) / settings.INVOICE_DIR / f"order-{order_id}.pdf"


def _write_atomically(path: Path, content: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=path.parent, prefix=f".{path.name}.", delete=False) as tmp:
        tmp.write(content)
    os.chmod(tmp.name, 0o644)  # mkstemp makes it 0600; the web may run as another user than the worker
    os.replace(tmp.name, path)  # readers see the old file or the new one, never half of one


def generate_invoice(entry: Entry) -> Outcome:
    """Writes the PDF of the order `entry.object_id` and records its invoice with the outcome.
    Safe to run again: the file has a stable name and is replaced atomically. Any error is a
    failed attempt (the outbox retries it, then gives up; the confirmation e-mail that waits for
    the invoice then goes out without the attachment)."""
    order = (
        Order.objects.select_related("user", "shipping_address", "billing_address")
        .prefetch_related("items")
        .filter(pk=entry.object_id)
        .first()
    )
    if order is None:
        return Outcome(EntryStatus.SKIPPED, "the order no longer exists")
    path = invoice_path(order.pk)
    started = time.perf_counter()
    pdf = render_invoice(order)
    rendered = time.perf_counter()
    _write_atomically(path, pdf)
    logger.info(
        "event=invoice_rendered order_id=%s render_ms=%.1f write_ms=%.1f bytes=%d",
        order.pk,
        (rendered - started) * 1000,
        (time.perf_counter() - rendered) * 1000,
        len(pdf),
    )
    return Outcome(record=partial(_record, order.pk, str(path.relative_to(settings.MEDIA_ROOT))))


def _record(order_id: int, file: str) -> None:
    """With the entry's outcome, in its commit: the invoice row, inserted or (written again)
    updated in one statement, and the order's cached representation, which shows it, dropped."""
    invoice = Invoice(order_id=order_id, file=file, generated_at=timezone.now())
    Invoice.objects.bulk_create(
        [invoice], update_conflicts=True, unique_fields=["order"], update_fields=["file", "generated_at"]
    )
    transaction.on_commit(partial(invalidate_order_detail, order_id))


def ready_invoice_file(*, order: Order) -> Path | None:
    """The invoice file of the order if it has been written and is on disk."""
    invoice = getattr(order, "invoice", None)
    return None if invoice is None else invoice.stored_file()
