from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "shop.accounts"
    label = "accounts"

    def ready(self) -> None:
        from shop.core.mail import shared_connection
        from shop.outbox.kinds import Kind, register

        from . import (
            email_verification,
            password_reset,
            signals,  # noqa: F401 - connects the cache invalidation receivers
        )

        register(
            Kind(
                password_reset.KIND,
                run=password_reset.send_password_reset,
                settings_prefix="EMAIL",
                batch=lambda entries: shared_connection(),
            )
        )
        register(
            Kind(
                email_verification.KIND,
                run=email_verification.send_email_verification,
                settings_prefix="EMAIL",
                batch=lambda entries: shared_connection(),
            )
        )
