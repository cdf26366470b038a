"""The order-confirmation e-mail: the outbox's `order_confirmation` kind (registered in apps.py),
run after the order's invoice entry is settled, so the PDF is attached when there is one."""

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings
from django.core.files import File
from django.core.mail import EmailMessage

from shop.core.mail import send, shared_connection
from shop.orders.models import Order, OrderStatus
from shop.outbox.kinds import Outcome
from shop.outbox.models import Entry, EntryStatus
from shop.outbox.preload import Preloaded

logger = logging.getLogger(__name__)


# What a confirmation says of its order: read for a whole batch of e-mails at once (shop.outbox.preload).
orders = Preloaded(lambda: Order.objects.select_related("user", "invoice", "shipping_address"))


@contextmanager
def confirmations(entries: list[Entry]) -> Iterator[None]:
    """Around a batch of confirmations: their orders read at once, one connection to the mail server."""
    with orders.batch(entries), shared_connection():
        yield


def _ships_to(order: Order) -> str:
    if order.shipping_address is None:
        return "\nYour order has no shipping address yet: we will ask you for one before it ships.\n"
    return "\nIt will ship to:\n\n" + "".join(f"    {line}\n" for line in order.shipping_address.lines())


def _confirmation(order: Order, invoice: File | None) -> EmailMessage:
    about_invoice = (
        "The invoice is attached."
        if invoice is not None
        else "Your invoice follows: it could not be made just now, and you can download it from your "
        "order as soon as it is ready."
    )
    message = EmailMessage(
        subject=f"{settings.SHOP_NAME}: order #{order.pk} confirmed",
        body=(
            f"Hello {order.user.username},\n\nthank you for your order #{order.pk} of "
            f"{order.total_price} {order.currency} at {settings.SHOP_NAME}. {about_invoice}\n"
            f"{_ships_to(order)}"
        ),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[order.user.email],
    )
    if invoice is not None:
        with invoice:
            message.attach(f"invoice-order-{order.pk}.pdf", invoice.read(), "application/pdf")
    return message


def send_order_confirmation(entry: Entry) -> Outcome:
    """Sends the confirmation of the order `entry.object_id`, with its invoice attached; without
    it (saying it follows) when the invoice failed; not at all when the order was cancelled
    first (skipped). The order is read after the attempt was claimed, so a cancel that committed
    before it wins. A crash between the send and the commit that records it may send the e-mail
    twice (SMTP offers no idempotency key); a mail server's error is a failed attempt."""
    order = orders.get(entry.object_id)
    if order is None:
        return Outcome(EntryStatus.SKIPPED, "the order no longer exists")
    if order.status == OrderStatus.CANCELLED:
        logger.info("event=email_skipped order_id=%s reason=order_cancelled", order.pk)
        return Outcome(EntryStatus.SKIPPED, "skipped: the order was cancelled first")
    # A store that does not answer fails the attempt (retried): the invoice is there, only unread.
    invoice = getattr(order, "invoice", None)
    message = _confirmation(order, invoice.open_file() if invoice is not None else None)
    started = time.perf_counter()
    send(message)
    logger.info(
        "event=email_sent order_id=%s send_ms=%.1f attachments=%d",
        order.pk,
        (time.perf_counter() - started) * 1000,
        len(message.attachments),
    )
    return Outcome()
