from django.apps import AppConfig


class InvoicesConfig(AppConfig):
    name = "shop.invoices"
    label = "invoices"
