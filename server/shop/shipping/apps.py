from django.apps import AppConfig


class ShippingConfig(AppConfig):
    name = "shop.shipping"
    label = "shipping"

    def ready(self) -> None:
        from shop.orders.work import OrderWork
        from shop.outbox.kinds import Kind, register

        from .services import notify_partner, record_intent

        register(
            Kind(
                OrderWork.SHIPPING_NOTICE,
                run=notify_partner,
                settings_prefix="EXTERNAL_API",
                on_claim=record_intent,
            )
        )
