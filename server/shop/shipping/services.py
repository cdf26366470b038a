"""Telling the shipping partner about a shipped order."""

import logging
from functools import partial
from typing import Any

from shop.orders.models import Order
from shop.outbox.kinds import Outcome, TryAgain
from shop.outbox.models import Entry, EntryStatus

from .client import PartnerAnswer, post_shipment
from .models import ShippingAttempt

logger = logging.getLogger(__name__)


IN_FLIGHT = "in flight: the call was started and no answer was recorded"


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
        "shipping_address": order.shipping_address.as_dict() if order.shipping_address else None,
        "total_price": str(order.total_price),
        "currency": order.currency,
        "status": order.status,
    }


def record_intent(entry: Entry) -> None:
    """In the claiming transaction: the call is about to be made (its answer is recorded after)."""
    ShippingAttempt.objects.create(order_id=entry.object_id, attempt=entry.attempts, error=IN_FLIGHT)


def notify_partner(entry: Entry) -> Outcome:
    """Tells the partner the order `entry.object_id` shipped: one call per attempt.

    Three steps, each committed: the attempt is claimed and recorded as in flight
    (`record_intent`); the partner is called (no transaction or lock held); the answer is
    recorded with the outcome. A worker killed after the partner accepted but before the answer
    was recorded leaves an attempt with no answer, and the next attempt (after the claim's
    lease) calls again with the same `Idempotency-Key`, which the partner uses to tell a repeat
    from a new notice: delivery is at least once, never unrecorded. A 2xx is done, another 4xx
    is refused for good, anything else (network, timeout, 5xx, 429) is tried again."""
    order = (
        Order.objects.select_related("user", "shipping_address")
        .prefetch_related("items")
        .filter(pk=entry.object_id)
        .first()
    )
    if order is None:
        return Outcome(EntryStatus.SKIPPED, "the order no longer exists")
    attempt = ShippingAttempt.objects.filter(order_id=order.pk).latest("id")  # this claim's intent
    answer = post_shipment(payload=shipment_payload(order), idempotency_key=f"order-{order.pk}-shipped")
    attempt.status_code, attempt.error, attempt.response_excerpt = (
        answer.status_code,
        answer.error,
        answer.excerpt,
    )
    record = partial(attempt.save, update_fields=["status_code", "error", "response_excerpt"])
    if answer.ok:
        return Outcome(record=record)
    if not answer.retryable:
        logger.error("event=shipping_rejected order_id=%s status_code=%s", order.pk, answer.status_code)
        return Outcome(EntryStatus.FAILED, _describe(answer), record=record)
    raise TryAgain(_describe(answer), record=record)


def _describe(answer: PartnerAnswer) -> str:
    return f"HTTP {answer.status_code}" if answer.status_code else answer.error
