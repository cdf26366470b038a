from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "shop.orders"
    label = "orders"

    def ready(self) -> None:
        from . import signals  # noqa: F401 - connects the cache invalidation receivers
