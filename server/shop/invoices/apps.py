from django.apps import AppConfig


class InvoicesConfig(AppConfig):
    name = "shop.invoices"
    label = "invoices"

    def ready(self) -> None:
        from shop.orders.work import OrderWork
        from shop.outbox.kinds import Kind, register

        from .services import generate_invoice, orders

        register(Kind(OrderWork.INVOICE, run=generate_invoice, settings_prefix="INVOICE", batch=orders.batch))
