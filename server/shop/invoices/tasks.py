from shop.retries import retrying_task


@retrying_task(
    "shop.invoices.tasks.generate_invoice",
    # Any failure: the service counts attempts in the invoice row and gives up after the last.
    retry_on=(Exception,),
    settings_prefix="INVOICE",
    failed="shop.invoices.services.mark_invoice_failed",
)
def generate_invoice_task(self, *, order_id: int) -> None:
    """Writes the order's PDF invoice; the confirmation e-mail is chained after it."""
    from .services import generate_invoice

    self.call(generate_invoice, order_id=order_id)
