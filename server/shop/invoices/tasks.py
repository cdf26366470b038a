from celery import shared_task
from django.db import DatabaseError


@shared_task(
    name="shop.invoices.tasks.generate_invoice",
    autoretry_for=(OSError, DatabaseError),
    retry_backoff=True,
    max_retries=3,
)
def generate_invoice(*, order_id: int) -> None:
    """Writes the order's PDF invoice; the confirmation e-mail is chained after it."""
    from .services import generate_invoice as generate

    generate(order_id=order_id)
