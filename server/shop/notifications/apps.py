from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "shop.notifications"
    label = "notifications"

    def ready(self) -> None:
        from shop.orders.work import OrderWork
        from shop.outbox.kinds import Kind, register

        from .services import confirmations, send_order_confirmation

        register(
            Kind(
                OrderWork.ORDER_CONFIRMATION,
                run=send_order_confirmation,
                settings_prefix="EMAIL",
                batch=confirmations,
            )
        )
