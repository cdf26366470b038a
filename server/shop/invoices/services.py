"""Generating and reading invoice files."""

import logging
import os
import tempfile
import time
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from shop.orders.claims import claim, last_attempt, settle
from shop.orders.models import Order

from .models import Invoice, InvoiceStatus
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


def max_invoice_attempts() -> int:
    return settings.INVOICE_MAX_RETRIES + 1


def generate_invoice(*, order_id: int) -> Invoice | None:
    """Writes the order's PDF and marks its invoice ready. Safe to run again: a ready or failed
    invoice is left alone, and one held by a running attempt raises ClaimHeld. A failed attempt
    records its error and raises, for the task to retry; the last one marks the invoice failed
    and returns, so the confirmation e-mail chained after it goes out without the attachment.
    Returns the invoice when this call wrote it."""
    invoice = claim(
        Invoice, order_id=order_id, failed=InvoiceStatus.FAILED, max_attempts=max_invoice_attempts()
    )
    if invoice is None:
        return None
    try:
        order = Order.objects.select_related("user").prefetch_related("items").get(pk=order_id)
        path = invoice_path(order_id)
        started = time.perf_counter()
        pdf = render_invoice(order)
        rendered = time.perf_counter()
        _write_atomically(path, pdf)
        logger.info(
            "event=invoice_rendered order_id=%s render_ms=%.1f write_ms=%.1f bytes=%d",
            order_id,
            (rendered - started) * 1000,
            (time.perf_counter() - rendered) * 1000,
            len(pdf),
        )
    except Exception as exc:
        error = f"{type(exc).__name__}: {exc}"
        if last_attempt(invoice, max_invoice_attempts()):
            settle(invoice, status=InvoiceStatus.FAILED, error=error)
            logger.error(
                "event=invoice_failed order_id=%s attempts=%d error=%r", order_id, invoice.attempts, error
            )
            return None
        settle(invoice, error=error)
        raise
    settle(
        invoice,
        status=InvoiceStatus.READY,
        file=str(path.relative_to(settings.MEDIA_ROOT)),
        generated_at=timezone.now(),
    )
    return invoice


def mark_invoice_failed(*, order_id: int, error: str) -> None:
    """The invoice task failed outside the attempt itself (it could not even claim the row):
    recorded; the row stays pending, and the sweeper publishes it again within its bound."""
    Invoice.objects.filter(order_id=order_id, status=InvoiceStatus.PENDING).update(error=error[:2000])
    logger.error('event=invoice_task_failed order_id=%s error="%s"', order_id, error)


def ready_invoice_file(*, order: Order) -> Path | None:
    """The invoice file of the order if it has been generated and is on disk."""
    invoice = getattr(order, "invoice", None)
    if invoice is None or invoice.status != InvoiceStatus.READY:
        return None
    path = Path(settings.MEDIA_ROOT) / invoice.file
    return path if path.is_file() else None
