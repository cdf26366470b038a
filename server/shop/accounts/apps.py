from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "shop.accounts"
    label = "accounts"

    def ready(self) -> None:
        from . import signals  # noqa: F401 - connects the cache invalidation receivers
