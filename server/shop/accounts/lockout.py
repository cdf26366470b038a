"""django-axes' middleware for the one site it guards, the Django admin."""

from axes.middleware import AxesMiddleware
from django.http import HttpRequest, HttpResponse
from rest_framework.throttling import BaseThrottle

ADMIN_PREFIX = "/admin/"


class AdminLoginLockoutMiddleware(AxesMiddleware):
    """Turns a locked-out admin login into django-axes' 429 page; every other request passes
    straight through (AXES_ONLY_ADMIN_SITE: nothing else is ever locked out), sparing the API's
    requests its checks."""

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.path_info.startswith(ADMIN_PREFIX):
            return self.get_response(request)
        return super().__call__(request)


def client_ip(request: HttpRequest) -> str:
    """The client's address as the API's throttles take it (AXES_CLIENT_IP_CALLABLE): behind
    NUM_PROXIES proxies, the one the nearest proxy put in X-Forwarded-For; else REMOTE_ADDR."""
    return BaseThrottle().get_ident(request)
