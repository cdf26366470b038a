"""Telling the shipping partner about a shipped order."""

import logging
from typing import Any

from django.db import transaction
from django.utils import timezone

from shop.orders.models import Order

from .client import PartnerAnswer, post_shipment
from .models import ShippingAttempt, ShippingNotification, ShippingStatus

logger = logging.getLogger(__name__)


class PartnerUnavailable(Exception):
    """The partner could not take the call now (network, timeout, 5xx): try again later."""


def shipment_payload(order: Order) -> dict[str, Any]:
    return {
        "order_id": order.pk,
        "user": {"id": order.user_id, "username": order.user.username, "email": order.user.email},
        "items": [
            {
                "product": item.product_id,
                "product_name": item.product_name,
                "quantity": item.quantity,
                "price_at_purchase": str(item.price_at_purchase),
            }
            for item in order.items.all()
        ],
        "total_price": str(order.total_price),
        "currency": order.currency,
        "status": order.status,
    }


def notify_partner(*, order_id: int) -> ShippingNotification:
    """Makes one call to the partner unless it already answered, and records it.

    The notification row is locked during the call, so duplicated tasks never call twice at once.
    Raises PartnerUnavailable (after recording the attempt) when the call is worth retrying.
    """
    with transaction.atomic():
        notification = (
            ShippingNotification.objects.select_for_update(of=("self",))
            .select_related("order__user")
            .get(order_id=order_id)
        )
        if notification.status != ShippingStatus.PENDING:
            return notification
        notification.attempts += 1
        answer = post_shipment(
            payload=shipment_payload(notification.order), idempotency_key=f"order-{order_id}-shipped"
        )
        ShippingAttempt.objects.create(
            notification=notification,
            attempt=notification.attempts,
            status_code=answer.status_code,
            error=answer.error,
            response_excerpt=answer.excerpt,
        )
        if answer.ok or not answer.retryable:
            notification.status = ShippingStatus.SENT if answer.ok else ShippingStatus.FAILED
            notification.completed_at = timezone.now()
        notification.save(update_fields=["attempts", "status", "completed_at"])
    if notification.status == ShippingStatus.FAILED:
        logger.error("event=shipping_rejected order_id=%s status_code=%s", order_id, answer.status_code)
    if notification.status == ShippingStatus.PENDING:
        raise PartnerUnavailable(_describe(answer))
    return notification


def _describe(answer: PartnerAnswer) -> str:
    return f"HTTP {answer.status_code}" if answer.status_code else answer.error


def mark_shipping_failed(*, order_id: int, error: str) -> None:
    """The partner task gave up: the notice is failed (every attempt is in ShippingAttempt)."""
    updated = ShippingNotification.objects.filter(order_id=order_id, status=ShippingStatus.PENDING).update(
        status=ShippingStatus.FAILED, completed_at=timezone.now()
    )
    if updated:
        logger.error('event=shipping_failed order_id=%s error="%s"', order_id, error)
