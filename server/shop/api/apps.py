from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "shop.api"
    label = "api"

    def ready(self) -> None:
        from django.db.backends.signals import connection_created

        from .outage import database_connected

        connection_created.connect(database_connected, dispatch_uid="api_database_connected")
