from celery import shared_task


@shared_task(name="shop.notifications.tasks.send_order_confirmation", bind=True, max_retries=5)
def send_order_confirmation(self, *, order_id: int) -> None:
    """Sends the order-confirmation e-mail once; retries while the invoice or the mail server is
    not ready, then records the failure."""
    from .services import EmailDeliveryFailed, InvoiceNotReady, mark_email_failed, send_order_confirmation

    try:
        send_order_confirmation(order_id=order_id)
    except (InvoiceNotReady, EmailDeliveryFailed) as exc:
        if self.request.retries >= self.max_retries:
            mark_email_failed(order_id=order_id, error=str(exc))
            raise
        raise self.retry(exc=exc, countdown=5 * 2**self.request.retries) from exc
