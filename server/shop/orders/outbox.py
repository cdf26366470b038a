"""The work that follows an order's commit: its PDF invoice and confirmation e-mail after it is
placed, the shipping partner's notice after it ships.

What must happen is written as `pending` rows in the order's own transaction; publishing the
tasks waits for the commit (a rolled-back order sends nothing) and may fail when the broker is
down without failing the request. `resume_pending_work`, run by Celery beat, publishes again
whatever is still pending a while after it was last published. Every task is idempotent (the
invoice file has a stable name; e-mail and partner rows are checked under a lock), so publishing
twice is harmless.
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial

from celery import chain
from celery.canvas import Signature
from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from shop.invoices.models import Invoice, InvoiceStatus
from shop.invoices.tasks import generate_invoice_task
from shop.notifications.models import EmailNotification, EmailStatus
from shop.notifications.services import confirmation_for
from shop.notifications.tasks import send_order_confirmation_task
from shop.shipping.models import ShippingNotification, ShippingStatus
from shop.shipping.tasks import notify_partner_task

from .models import Order, OutboxRow

logger = logging.getLogger(__name__)

SWEEP_BATCH = 500


def record_order_placed(order: Order) -> None:
    """In the placing transaction: the invoice and the e-mail are owed from now on."""
    Invoice.objects.create(order=order)
    confirmation_for(order)
    transaction.on_commit(partial(enqueue_order_placed, order.pk))


def record_order_shipped(order: Order) -> None:
    """In the shipping transaction: the partner is owed a notice from now on."""
    ShippingNotification.objects.create(order=order)
    transaction.on_commit(partial(enqueue_order_shipped, order.pk))


def _publish(signature: Signature, *, what: str, order_id: int, rows: tuple[type[OutboxRow], ...]) -> bool:
    """Publishes the task(s) and, if the broker took them, stamps the rows they will work on with
    the time, so that the sweeper leaves them alone for a while. Returns whether it was taken."""
    try:
        signature.apply_async()
    except Exception as exc:  # kombu/redis connection errors: the sweeper will publish it again
        logger.warning(
            'event=enqueue_failed what=%s order_id=%s error="%s: %s" action=left_for_sweeper',
            what,
            order_id,
            type(exc).__name__,
            exc,
        )
        return False
    now = timezone.now()
    for model in rows:
        model.objects.filter(order_id=order_id).update(enqueued_at=now)
    return True


def enqueue_order_placed(order_id: int) -> bool:
    """Publishes invoice → e-mail for the order; returns whether the broker took it."""
    work = chain(
        generate_invoice_task.si(order_id=order_id), send_order_confirmation_task.si(order_id=order_id)
    )
    return _publish(
        work, what="invoice_and_confirmation", order_id=order_id, rows=(Invoice, EmailNotification)
    )


def enqueue_confirmation(order_id: int) -> bool:
    work = send_order_confirmation_task.si(order_id=order_id)
    return _publish(work, what="confirmation", order_id=order_id, rows=(EmailNotification,))


def enqueue_order_shipped(order_id: int) -> bool:
    work = notify_partner_task.si(order_id=order_id)
    return _publish(work, what="shipping_notice", order_id=order_id, rows=(ShippingNotification,))


def _stale(cutoff: datetime) -> Q:
    return Q(enqueued_at__lt=cutoff) | Q(enqueued_at__isnull=True, created_at__lt=cutoff)


@dataclass(frozen=True)
class Sweep:
    """One kind of outbox row the sweeper resumes: its model, the status that means "still owed",
    how to publish its work again, and rows to leave alone."""

    name: str
    model: type[OutboxRow]
    pending: str
    enqueue: Callable[[int], bool]
    exclude: Q = field(default_factory=Q)


SWEEPS = (
    Sweep("invoices", Invoice, InvoiceStatus.PENDING, enqueue_order_placed),
    # An e-mail whose invoice is still pending rides on the invoice's chain.
    Sweep(
        "emails",
        EmailNotification,
        EmailStatus.PENDING,
        enqueue_confirmation,
        exclude=Q(order__invoice__status=InvoiceStatus.PENDING),
    ),
    Sweep("shipping", ShippingNotification, ShippingStatus.PENDING, enqueue_order_shipped),
)


def resume_pending_work(*, now: datetime | None = None) -> dict[str, int]:
    """Publishes again the work still pending OUTBOX_RESUME_AFTER seconds after it was last
    published (or created, if publishing failed). Returns how many of each kind it published."""
    cutoff = (now or timezone.now()) - timedelta(seconds=settings.OUTBOX_RESUME_AFTER)
    stale = {
        sweep.name: list(
            sweep.model.objects.filter(_stale(cutoff), status=sweep.pending)
            .exclude(sweep.exclude)
            .order_by("created_at")
            .values_list("order_id", flat=True)[:SWEEP_BATCH]
        )
        for sweep in SWEEPS
    }
    published = {
        sweep.name: sum(sweep.enqueue(order_id) for order_id in stale[sweep.name]) for sweep in SWEEPS
    }
    if any(stale.values()):
        logger.info("event=sweep %s", " ".join(f"{name}={count}" for name, count in published.items()))
    return published
