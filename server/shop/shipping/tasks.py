import random

from celery import shared_task
from django.conf import settings


def backoff(retries: int) -> float:
    """Exponential backoff with full jitter: base * 2^retries, plus up to one base at random."""
    base = settings.EXTERNAL_API_RETRY_BACKOFF
    return base * 2**retries + random.uniform(0, base)


@shared_task(name="shop.shipping.tasks.notify_shipping_partner", bind=True)
def notify_shipping_partner(self, *, order_id: int) -> None:
    """Tells the partner an order shipped. Retries only when the partner was unavailable, at most
    EXTERNAL_API_MAX_RETRIES times; then the notification is recorded as failed. The order's status
    is never touched."""
    from .services import PartnerUnavailable, mark_shipping_failed, notify_partner

    try:
        notify_partner(order_id=order_id)
    except PartnerUnavailable as exc:
        if self.request.retries >= settings.EXTERNAL_API_MAX_RETRIES:
            mark_shipping_failed(order_id=order_id)
            raise
        raise self.retry(
            exc=exc, countdown=backoff(self.request.retries), max_retries=settings.EXTERNAL_API_MAX_RETRIES
        ) from exc
