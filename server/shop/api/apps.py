from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "shop.api"
    label = "api"
