"""Shared fixtures. Named users as in healthchecks' tests: alice and bob are customers, staff is
an administrator. `client_for(user)` authenticates with a real JWT, through the whole stack."""

import os

import pytest
from django.conf import settings
from django.core.cache import caches
from django.db import connection
from django_guid import clear_guid
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken

from shop.accounts.recent_tokens import recent_tokens
from shop.api.throttling import failover_cache
from tests.helpers import ADDRESS, PartnerStub

REQUIRE_SERVICES = os.environ.get("REQUIRE_SERVICES") == "1"


def service_missing(service: str, reason: str) -> None:
    """Skips the test naming the service, or fails it when REQUIRE_SERVICES=1 (CI)."""
    message = f"needs {service}: {reason}"
    if REQUIRE_SERVICES:
        pytest.fail(f"REQUIRE_SERVICES=1 and this test {message}", pytrace=False)
    pytest.skip(message)


def memcached_configured() -> bool:
    return settings.CACHES["default"]["BACKEND"].endswith("PyMemcacheCache")


@pytest.fixture(autouse=True)
def _required_services(request):
    if request.node.get_closest_marker("postgres") and connection.vendor != "postgresql":
        service_missing("PostgreSQL", f"the test database is {connection.vendor} (set DATABASE_URL)")
    if request.node.get_closest_marker("memcached") and not memcached_configured():
        service_missing("Memcached", "no server at MEMCACHED_LOCATION or 127.0.0.1:11211")
    if request.node.get_closest_marker("redis") and not getattr(settings, "CELERY_BROKER_URL", None):
        service_missing("Redis", "no server at CELERY_BROKER_URL or 127.0.0.1:6379")


def _clear_caches() -> None:
    for alias in settings.CACHES:
        caches[alias].clear()
    failover_cache.local.clear()
    recent_tokens.clear()


@pytest.fixture(autouse=True)
def _fresh_cache():
    _clear_caches()
    yield
    _clear_caches()


@pytest.fixture(autouse=True)
def _no_request_id_left_over():
    """A response the test never closed (a file download) never sends request_finished, which
    is when the request id is forgotten: forget it between tests, as a server would."""
    yield
    clear_guid()


@pytest.fixture
def make_user(db, django_user_model):
    def make(username: str, *, is_staff: bool = False, password: str = "s3cret-Passw0rd"):
        return django_user_model.objects.create_user(
            username=username, email=f"{username}@example.com", password=password, is_staff=is_staff
        )

    return make


@pytest.fixture
def alice(make_user):
    return make_user("alice")


@pytest.fixture
def bob(make_user):
    return make_user("bob")


@pytest.fixture
def staff(make_user):
    return make_user("staff", is_staff=True)


@pytest.fixture
def anon():
    return APIClient()


@pytest.fixture
def client_for():
    def make(user) -> APIClient:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {AccessToken.for_user(user)}")
        return client

    return make


@pytest.fixture
def make_product(db):
    from decimal import Decimal

    from shop.catalog.models import Product

    def make(name: str = "Widget", *, price: str = "10.00", stock: int = 10, category: str = "home", **extra):
        return Product.objects.create(
            name=name, price=Decimal(price), stock=stock, category=category, **extra
        )

    return make


@pytest.fixture
def lamp(make_product):
    """The product most tests need: a lamp at 20.00, 10 in stock, in `home`."""
    return make_product("Lamp", price="20.00", stock=10, category="home")


@pytest.fixture
def alice_client(client_for, alice):
    return client_for(alice)


@pytest.fixture
def place(db):
    """Places an order through the service (not the API), for tests about what happens next."""
    from shop.orders.services import place_order

    def make(user, *lines, shipping_address=ADDRESS):
        items = [{"product": p.pk, "quantity": q} for p, q in lines]
        order, _ = place_order(user=user, items=items, shipping_address=shipping_address)
        return order

    return make


@pytest.fixture(autouse=True)
def _media_root(tmp_path, settings):
    """Invoices are written under a fresh MEDIA_ROOT per test."""
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def partner(settings):
    stub = PartnerStub()
    settings.EXTERNAL_API_URL = stub.url
    settings.EXTERNAL_API_TIMEOUT = 0.5
    yield stub
    stub.close()


@pytest.fixture
def use_broker(monkeypatch):
    """Switches the Celery app from in-process (eager) tasks to publishing to `url`."""
    from config.celery import app

    saved = (app.conf.task_always_eager, app.conf.broker_url)

    def reset_pools():
        app._pool = None
        app.__dict__.get("amqp") and setattr(app.amqp, "_producer_pool", None)

    def switch(url: str | None) -> None:
        app.conf.task_always_eager = url is None
        if url:
            app.conf.broker_url = url
            # Celery reads CELERY_BROKER_URL from the environment before its own setting.
            monkeypatch.setenv("CELERY_BROKER_URL", url)
        reset_pools()

    yield switch
    app.conf.task_always_eager, app.conf.broker_url = saved
    reset_pools()


@pytest.fixture
def register_kind(monkeypatch):
    """Registers an outbox kind for one test (shop.outbox.kinds), gone after it."""
    from shop.outbox import kinds

    def register(kind):
        monkeypatch.setitem(kinds._kinds, kind.name, kind)
        return kind

    return register
