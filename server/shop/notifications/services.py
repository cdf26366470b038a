"""Sending the order-confirmation e-mail, at most once."""

import logging

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.utils import timezone

from shop.invoices.services import ready_invoice_file
from shop.orders.models import Order

from .models import EmailKind, EmailNotification, EmailStatus

logger = logging.getLogger(__name__)


class InvoiceNotReady(Exception):
    """The e-mail carries the PDF; it waits until the invoice exists."""


class EmailDeliveryFailed(Exception):
    pass


def confirmation_for(order: Order) -> EmailNotification:
    """The (pending) confirmation e-mail record of a new order; created in its transaction."""
    return EmailNotification.objects.create(
        order=order,
        kind=EmailKind.ORDER_CONFIRMATION,
        recipient=order.user.email,
        subject=f"{settings.SHOP_NAME}: order #{order.pk} confirmed",
    )


def send_order_confirmation(*, order_id: int) -> EmailNotification:
    """Sends the confirmation e-mail with the invoice attached, unless it was already sent.

    The record is locked while sending: a concurrent or retried task waits, then finds it sent.
    Raises InvoiceNotReady or EmailDeliveryFailed (the attempt recorded) for the task to retry.
    """
    with transaction.atomic():
        notification = (
            EmailNotification.objects.select_for_update(of=("self",))
            .select_related("order__user", "order__invoice")
            .get(order_id=order_id, kind=EmailKind.ORDER_CONFIRMATION)
        )
        if notification.status == EmailStatus.SENT:
            logger.info("event=email_already_sent order_id=%s notification_id=%s", order_id, notification.pk)
            return notification
        order = notification.order
        invoice = ready_invoice_file(order=order)
        if invoice is None:
            raise InvoiceNotReady(f"order {order_id} has no invoice yet")
        message = EmailMessage(
            subject=notification.subject,
            body=(
                f"Hello {order.user.username},\n\nthank you for your order #{order.pk} "
                f"of {order.total_price} {order.currency} at {settings.SHOP_NAME}. The invoice is attached.\n"
            ),
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[notification.recipient],
        )
        message.attach(f"invoice-order-{order.pk}.pdf", invoice.read_bytes(), "application/pdf")
        notification.attempts += 1
        try:
            message.send()
        except Exception as exc:  # SMTP and socket errors alike: record, then let the task retry
            notification.error = f"{type(exc).__name__}: {exc}"
            notification.save(update_fields=["attempts", "error"])
            failure = EmailDeliveryFailed(notification.error)
        else:
            notification.status = EmailStatus.SENT
            notification.sent_at = timezone.now()
            notification.error = ""
            notification.save(update_fields=["status", "sent_at", "attempts", "error"])
            return notification
    raise failure


def mark_email_failed(*, order_id: int, error: str) -> None:
    EmailNotification.objects.filter(
        order_id=order_id, kind=EmailKind.ORDER_CONFIRMATION, status=EmailStatus.PENDING
    ).update(status=EmailStatus.FAILED, error=error[:2000])
