from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "shop.accounts"
    label = "accounts"

    def ready(self) -> None:
        from shop.outbox.kinds import Kind, register

        from . import signals  # noqa: F401 - connects the cache invalidation receivers
        from .password_reset import KIND, send_password_reset

        register(Kind(KIND, run=send_password_reset, settings_prefix="EMAIL"))
