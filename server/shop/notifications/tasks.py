from shop.retries import retrying_task

from .services import EmailDeliveryFailed, InvoiceNotReady


@retrying_task(
    "shop.notifications.tasks.send_order_confirmation",
    retry_on=(InvoiceNotReady, EmailDeliveryFailed),
    settings_prefix="EMAIL",
    failed="shop.notifications.services.mark_email_failed",
)
def send_order_confirmation_task(self, *, order_id: int) -> None:
    """Sends the order-confirmation e-mail once; retries while the invoice or the mail server is
    not ready, then records the failure."""
    from .services import send_order_confirmation

    self.call(send_order_confirmation, order_id=order_id)
