"""Telling the shipping partner about a shipped order."""

import logging
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from shop.orders.claims import claim, settle
from shop.orders.models import Order

from .client import PartnerAnswer, post_shipment
from .models import ShippingAttempt, ShippingNotification, ShippingStatus

logger = logging.getLogger(__name__)


IN_FLIGHT = "in flight: the call was started and no answer was recorded"


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


def max_partner_attempts() -> int:
    return settings.EXTERNAL_API_MAX_RETRIES + 1


def notify_partner(*, order_id: int) -> ShippingNotification | None:
    """Makes one call to the partner unless the notice is settled (ClaimHeld while another attempt
    holds it).

    Three steps, each committed: the attempt is claimed and recorded as in flight; the partner is
    called (no transaction or lock held); the answer is recorded. A worker killed after the
    partner accepted but before the answer was recorded leaves an attempt with no answer, and the
    next attempt (after the claim's lease) calls again with the same `Idempotency-Key`, which the
    partner uses to tell a repeat from a new notice: delivery is at least once, never unrecorded.
    Raises PartnerUnavailable when the call is worth retrying. Returns the notification when this
    call settled or attempted it."""
    started: list[ShippingAttempt] = []

    def record_intent(notification: ShippingNotification) -> None:
        started.append(
            ShippingAttempt.objects.create(
                notification=notification, attempt=notification.attempts, error=IN_FLIGHT
            )
        )

    notification = claim(
        ShippingNotification,
        order_id=order_id,
        failed=ShippingStatus.FAILED,
        max_attempts=max_partner_attempts(),
        during=record_intent,
    )
    if notification is None:
        return None
    order = Order.objects.select_related("user").prefetch_related("items").get(pk=order_id)
    answer = post_shipment(payload=shipment_payload(order), idempotency_key=f"order-{order_id}-shipped")
    attempt = started[0]
    attempt.status_code, attempt.error, attempt.response_excerpt = (
        answer.status_code,
        answer.error,
        answer.excerpt,
    )
    with transaction.atomic():
        attempt.save(update_fields=["status_code", "error", "response_excerpt"])
        if answer.ok or not answer.retryable:
            status = ShippingStatus.SENT if answer.ok else ShippingStatus.FAILED
            settle(notification, status=status, completed_at=timezone.now())
        else:
            settle(notification, error=_describe(answer))
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
