"""django-axes' middleware for the one site it guards, the Django admin."""

from axes.middleware import AxesMiddleware
from django.http import HttpRequest, HttpResponse

ADMIN_PREFIX = "/admin/"


class AdminLoginLockoutMiddleware(AxesMiddleware):
    """Turns a locked-out admin login into django-axes' 429 page; every other request passes
    straight through (AXES_ONLY_ADMIN_SITE: nothing else is ever locked out), sparing the API's
    requests its checks."""

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.path_info.startswith(ADMIN_PREFIX):
            return self.get_response(request)
        return super().__call__(request)
