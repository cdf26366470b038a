from shop.retries import retrying_task

from .services import PartnerUnavailable


@retrying_task(
    "shop.shipping.tasks.notify_shipping_partner",
    retry_on=(PartnerUnavailable,),
    settings_prefix="EXTERNAL_API",
    failed="shop.shipping.services.mark_shipping_failed",
)
def notify_partner_task(self, *, order_id: int) -> None:
    """Tells the partner an order shipped. Retries only when the partner was unavailable, at most
    EXTERNAL_API_MAX_RETRIES times; then the notification is recorded as failed. The order's status
    is never touched."""
    from .services import notify_partner

    self.call(notify_partner, order_id=order_id)
