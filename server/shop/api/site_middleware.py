"""Django's session, authentication and messages middleware, for the pages that use them (the
admin, and the documentation pages' templates) and not for the API: its requests carry bearer
tokens that DRF authenticates, and nothing of the API reads a session, `request.user` before DRF
sets it, or a message. Each is a subclass of Django's, so the admin's checks (admin.E408-E410)
find them; the CSRF middleware stays Django's own (DRF's views are exempt from it anyway)."""

from django.contrib.auth.middleware import AuthenticationMiddleware as DjangoAuthenticationMiddleware
from django.contrib.messages.middleware import MessageMiddleware as DjangoMessageMiddleware
from django.contrib.sessions.middleware import SessionMiddleware as DjangoSessionMiddleware
from django.http import HttpRequest, HttpResponse

from .middleware import API_PREFIX


class _NotForTheApi:
    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path_info.startswith(API_PREFIX):
            return self.get_response(request)
        return super().__call__(request)


class SessionMiddleware(_NotForTheApi, DjangoSessionMiddleware):
    pass


class AuthenticationMiddleware(_NotForTheApi, DjangoAuthenticationMiddleware):
    pass


class MessageMiddleware(_NotForTheApi, DjangoMessageMiddleware):
    pass
