"""Django's session, authentication and messages middleware serve the admin, not the API
(shop/api/site_middleware.py): an API request gets no session, no Django user before DRF's and no
message storage, and the admin still logs in with all three."""

import pytest
from django.conf import settings
from django.contrib.auth.middleware import AuthenticationMiddleware
from django.contrib.messages.middleware import MessageMiddleware
from django.contrib.sessions.middleware import SessionMiddleware
from django.core import checks
from django.test import Client

from shop.api import site_middleware

pytestmark = pytest.mark.django_db


def test_an_api_request_reads_no_session_user_or_messages(client_for, alice):
    response = client_for(alice).get("/api/products/")
    assert response.status_code == 200
    request = response.wsgi_request
    assert not hasattr(request, "session")
    assert not hasattr(request, "_messages")
    assert request.user == alice  # set by DRF's authentication alone
    assert settings.SESSION_COOKIE_NAME not in response.cookies


def test_the_admin_still_has_its_session_login_and_messages(make_user):
    boss = make_user("boss", is_staff=True, password="right-pass-Qm4")
    boss.is_superuser = True
    boss.save()
    client = Client()
    login = client.post("/admin/login/?next=/admin/", {"username": "boss", "password": "right-pass-Qm4"})
    assert login.status_code == 302 and login["Location"] == "/admin/"
    assert settings.SESSION_COOKIE_NAME in login.cookies
    home = client.get("/admin/")
    assert home.status_code == 200
    assert home.wsgi_request.user == boss
    assert hasattr(home.wsgi_request, "_messages")


def test_the_admin_checks_still_find_the_middleware():
    """admin.E408-E410 look for subclasses of Django's three in MIDDLEWARE."""
    ours = (
        site_middleware.SessionMiddleware,
        site_middleware.AuthenticationMiddleware,
        site_middleware.MessageMiddleware,
    )
    for middleware, django_s in zip(
        ours, (SessionMiddleware, AuthenticationMiddleware, MessageMiddleware), strict=True
    ):
        assert issubclass(middleware, django_s)
        assert f"{middleware.__module__}.{middleware.__name__}" in settings.MIDDLEWARE
    assert not [
        error for error in checks.run_checks() if error.id in ("admin.E408", "admin.E409", "admin.E410")
    ]
