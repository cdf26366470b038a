"""Sending the order-confirmation e-mail, at most once."""

import logging
import time
from datetime import datetime
from pathlib import Path

from django.conf import settings
from django.core.mail import EmailMessage
from django.utils import timezone

from shop.invoices.models import InvoiceStatus
from shop.invoices.services import ready_invoice_file
from shop.orders.claims import claim, settle
from shop.orders.models import Order, OrderStatus

from .models import EmailKind, EmailNotification, EmailStatus

logger = logging.getLogger(__name__)


class InvoiceNotReady(Exception):
    """The e-mail carries the PDF; it waits until the invoice exists."""


class EmailDeliveryFailed(Exception):
    pass


def confirmation_for(order: Order, *, enqueued_at: datetime | None = None) -> EmailNotification:
    """The (pending) confirmation e-mail record of a new order; created in its transaction."""
    return EmailNotification.objects.create(
        order=order,
        enqueued_at=enqueued_at,
        kind=EmailKind.ORDER_CONFIRMATION,
        recipient=order.user.email,
        subject=f"{settings.SHOP_NAME}: order #{order.pk} confirmed",
    )


def max_email_attempts() -> int:
    return settings.EMAIL_MAX_RETRIES + 1


def _confirmation(notification: EmailNotification, order: Order, invoice: Path | None) -> EmailMessage:
    about_invoice = (
        "The invoice is attached."
        if invoice is not None
        else "Your invoice follows: it could not be made just now, and you can download it from your "
        "order as soon as it is ready."
    )
    message = EmailMessage(
        subject=notification.subject,
        body=(
            f"Hello {order.user.username},\n\nthank you for your order #{order.pk} of "
            f"{order.total_price} {order.currency} at {settings.SHOP_NAME}. {about_invoice}\n"
        ),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[notification.recipient],
    )
    if invoice is not None:
        message.attach(f"invoice-order-{order.pk}.pdf", invoice.read_bytes(), "application/pdf")
    return message


def send_order_confirmation(*, order_id: int) -> EmailNotification | None:
    """Sends the confirmation e-mail once, with the invoice attached; without it (saying it
    follows) when the invoice failed; not at all when the order was cancelled first (recorded as
    skipped). Returns the notification when this call settled it.

    The attempt is claimed and committed before the mail server is called, and its outcome
    committed after: a crash in between leaves the attempt counted (the e-mail may then be sent
    twice; SMTP offers no idempotency key). Raises InvoiceNotReady while the invoice is still
    being made, EmailDeliveryFailed (the attempt recorded) when the mail server failed.
    """
    order = Order.objects.select_related("user", "invoice").get(pk=order_id)
    invoice_state = getattr(getattr(order, "invoice", None), "status", InvoiceStatus.READY)
    if order.status != OrderStatus.CANCELLED and invoice_state == InvoiceStatus.PENDING:
        raise InvoiceNotReady(f"order {order_id} has no invoice yet")
    notification = claim(
        EmailNotification,
        order_id=order_id,
        kind=EmailKind.ORDER_CONFIRMATION,
        failed=EmailStatus.FAILED,
        max_attempts=max_email_attempts(),
    )
    if notification is None:
        return None
    order.refresh_from_db(fields=["status"])  # re-read under this attempt's claim: a cancel may have won
    if order.status == OrderStatus.CANCELLED:
        settle(notification, status=EmailStatus.SKIPPED, error="skipped: the order was cancelled first")
        logger.info("event=email_skipped order_id=%s reason=order_cancelled", order_id)
        return notification
    message = _confirmation(notification, order, ready_invoice_file(order=order))
    started = time.perf_counter()
    try:
        message.send()
    except Exception as exc:  # SMTP and socket errors alike: record, then let the task retry
        error = f"{type(exc).__name__}: {exc}"
        settle(notification, error=error)
        raise EmailDeliveryFailed(error) from exc
    logger.info(
        "event=email_sent order_id=%s send_ms=%.1f attachments=%d",
        order_id,
        (time.perf_counter() - started) * 1000,
        len(message.attachments),
    )
    settle(notification, status=EmailStatus.SENT, sent_at=timezone.now())
    return notification


def mark_email_failed(*, order_id: int, error: str) -> None:
    """The e-mail task gave up (retries used up, or an unexpected error): the e-mail is failed
    until staff requeue it."""
    EmailNotification.objects.filter(
        order_id=order_id, kind=EmailKind.ORDER_CONFIRMATION, status=EmailStatus.PENDING
    ).update(status=EmailStatus.FAILED, error=error[:2000])
