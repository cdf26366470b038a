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
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial

from celery import chain
from celery.canvas import Signature
from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from kombu.exceptions import ChannelError

from config.celery import app
from shop.core.logs import Pairs
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


def record_order_placed(order: Order) -> Invoice:
    """In the placing transaction: the invoice and the e-mail are owed from now on. Their rows are
    inserted already stamped as published (`enqueued_at`), and the publish after the commit only
    writes again when the broker refuses it: a placed order costs one commit, not three."""
    now = timezone.now()
    invoice = Invoice.objects.create(order=order, enqueued_at=now)
    confirmation_for(order, enqueued_at=now)
    transaction.on_commit(partial(enqueue_order_placed, order.pk, stamped=True))
    return invoice


def record_order_shipped(order: Order) -> None:
    """In the shipping transaction: the partner is owed a notice from now on (stamped as above)."""
    ShippingNotification.objects.create(order=order, enqueued_at=timezone.now())
    transaction.on_commit(partial(enqueue_order_shipped, order.pk, stamped=True))


def _publish(
    signature: Signature, *, what: str, order_id: int, rows: tuple[type[OutboxRow], ...], stamped: bool
) -> bool:
    """Publishes the task(s); returns whether the broker took them. The rows they will work on
    carry the time of the publish (`enqueued_at`), so that the sweeper leaves them alone while
    they may still wait in the queue: stamped here after the broker took them, or, for `stamped`
    rows (stamped when inserted, in the transaction that owes the work), cleared here when it did
    not. A process that dies between the commit and the publish leaves stamped rows that were
    never published: the sweeper takes them once the queue is empty (`resume_pending_work`)."""
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
        if stamped:
            for model in rows:
                model.objects.filter(order_id=order_id).update(enqueued_at=None)
        return False
    if not stamped:
        now = timezone.now()
        for model in rows:
            model.objects.filter(order_id=order_id).update(enqueued_at=now)
    return True


def enqueue_order_placed(order_id: int, *, stamped: bool = False) -> bool:
    """Publishes invoice → e-mail for the order (one message); returns whether the broker took it."""
    work = chain(
        generate_invoice_task.si(order_id=order_id), send_order_confirmation_task.si(order_id=order_id)
    )
    return _publish(
        work,
        what="invoice_and_confirmation",
        order_id=order_id,
        rows=(Invoice, EmailNotification),
        stamped=stamped,
    )


def enqueue_confirmation(order_id: int) -> bool:
    work = send_order_confirmation_task.si(order_id=order_id)
    return _publish(work, what="confirmation", order_id=order_id, rows=(EmailNotification,), stamped=False)


def enqueue_order_shipped(order_id: int, *, stamped: bool = False) -> bool:
    work = notify_partner_task.si(order_id=order_id)
    return _publish(
        work, what="shipping_notice", order_id=order_id, rows=(ShippingNotification,), stamped=stamped
    )


def _stale(cutoff: datetime, now: datetime) -> Q:
    unclaimed = Q(claimed_until__isnull=True) | Q(claimed_until__lt=now)
    return unclaimed & (Q(enqueued_at__lt=cutoff) | Q(enqueued_at__isnull=True, created_at__lt=cutoff))


def queue_backlog() -> int | None:
    """Messages waiting in the task queue (not those a worker is running); None when the broker
    cannot be asked. In-process tasks (no broker) never wait."""
    if app.conf.task_always_eager:
        return 0
    try:
        with app.connection_for_read() as connection:
            declared = connection.default_channel.queue_declare(
                queue=settings.CELERY_TASK_DEFAULT_QUEUE, passive=True
            )
            return declared.message_count
    except ChannelError:  # the queue does not exist (yet): nothing waits in it
        return 0
    except Exception as exc:  # the broker is down: publishing will fail too
        logger.warning('event=broker_unreachable error="%s: %s"', type(exc).__name__, exc)
        return None


@dataclass(frozen=True)
class Sweep:
    """One kind of outbox row: its model, the statuses that mean "still owed" and "given up", how
    to publish its work again, and rows the sweeper leaves alone."""

    name: str
    model: type[OutboxRow]
    pending: str
    failed: str
    enqueue: Callable[[int], bool]
    exclude: Q = field(default_factory=Q)


SWEEPS = (
    Sweep("invoices", Invoice, InvoiceStatus.PENDING, InvoiceStatus.FAILED, enqueue_order_placed),
    # An e-mail whose invoice is still pending rides on the invoice's chain.
    Sweep(
        "emails",
        EmailNotification,
        EmailStatus.PENDING,
        EmailStatus.FAILED,
        enqueue_confirmation,
        exclude=Q(order__invoice__status=InvoiceStatus.PENDING),
    ),
    Sweep(
        "shipping", ShippingNotification, ShippingStatus.PENDING, ShippingStatus.FAILED, enqueue_order_shipped
    ),
)
KINDS = tuple(sweep.name for sweep in SWEEPS)


def resume_pending_work(*, now: datetime | None = None) -> dict[str, int]:
    """Publishes again the work that was lost: pending OUTBOX_RESUME_AFTER seconds after it was
    last published (or created), claimed by no running attempt, and either never taken by the
    broker or not possibly still waiting in its queue (the queue is empty). Work that is merely
    late behind a backlog is left to the workers. Returns how many of each kind it published."""
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.OUTBOX_RESUME_AFTER)
    lost = _stale(cutoff, now)
    backlog = queue_backlog()
    if backlog != 0:  # a backlog (or no broker to ask): only work the broker never took is lost
        lost &= Q(enqueued_at__isnull=True)
    stale = {
        sweep.name: list(
            sweep.model.objects.filter(lost, status=sweep.pending)
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
        counts = Pairs(" ".join(f"{name}={count}" for name, count in published.items()))
        logger.info("event=sweep %s backlog=%s", counts, backlog)
    return published


def requeue_failed(
    *, kinds: Iterable[str] = KINDS, since: datetime | None = None, order_ids: Iterable[int] | None = None
) -> dict[str, int]:
    """Puts failed work back in the outbox (staff, after an outage of the partner or the mail
    server): each row becomes pending with a fresh set of attempts, its resend is counted and
    stamped, and its task is published after commit. Returns how many of each kind."""
    requeued = {}
    now = timezone.now()
    for sweep in (sweep for sweep in SWEEPS if sweep.name in set(kinds)):
        rows = sweep.model.objects.filter(status=sweep.failed)
        if since is not None:
            rows = rows.filter(created_at__gte=since)
        if order_ids is not None:
            rows = rows.filter(order_id__in=list(order_ids))
        with transaction.atomic():
            ids = list(rows.select_for_update().values_list("order_id", flat=True))
            sweep.model.objects.filter(order_id__in=ids, status=sweep.failed).update(
                status=sweep.pending,
                attempts=0,
                claimed_until=None,
                requeues=F("requeues") + 1,
                requeued_at=now,
            )
            for order_id in ids:
                logger.warning("event=requeued kind=%s order_id=%s", sweep.name, order_id)
                transaction.on_commit(partial(sweep.enqueue, order_id))
        requeued[sweep.name] = len(ids)
    return requeued
