"""A database that is up but keeps a request waiting (a lock held, a slow statement): the web's
bounds end the wait (shop.core.timeouts) and the request answers 503 with Retry-After, having
changed nothing, and no outage begins. Web only: config/wsgi.py connects the bounds."""

import importlib
import logging
import sys

import pytest
from django.db import OperationalError, connection
from django.db.backends.signals import connection_created

from shop.api import outage
from shop.core.timeouts import bound_waits
from shop.orders.models import Order
from tests.helpers import assert_problem, other_session

pytestmark = [pytest.mark.memcached, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def bounded(settings):
    """This test's connection, bounded as a web process's new connection is (short bounds)."""
    settings.DATABASE_LOCK_TIMEOUT = 300
    settings.DATABASE_STATEMENT_TIMEOUT = 5_000

    def bound():
        bound_waits(sender=None, connection=connection)

    bound()
    yield bound
    with connection.cursor() as cursor:
        cursor.execute("RESET lock_timeout")
        cursor.execute("RESET statement_timeout")


def test_a_request_queued_behind_a_held_lock_is_a_503_and_changes_nothing(
    alice_client, lamp, bounded, settings, caplog
):
    alice_client.get("/api/auth/me/")
    order = {"items": [{"product": lamp.pk, "quantity": 1}]}
    with other_session() as other, caplog.at_level(logging.WARNING, logger="shop.api.outage"):
        other.execute("LOCK TABLE catalog_product IN ACCESS EXCLUSIVE MODE")
        response = alice_client.post("/api/orders/", order, format="json")
        body = assert_problem(response, 503, "service_unavailable")
        assert response["Retry-After"] == str(settings.DATABASE_RETRY_AFTER)
        assert "busy (lock timeout)" in body["detail"]
    assert not outage.in_outage()  # the database was there
    assert [r.getMessage() for r in caplog.records if r.name == "shop.api.outage"] == [
        "event=database_busy reason=lock_timeout action=answer_503"
    ]
    assert not Order.objects.exists()
    lamp.refresh_from_db()
    assert lamp.stock == 10
    assert alice_client.post("/api/orders/", order, format="json").status_code == 201  # the lock is gone


def test_a_statement_past_its_bound_is_a_503_too(bounded, settings):
    settings.DATABASE_STATEMENT_TIMEOUT = 200
    bounded()
    with pytest.raises(OperationalError) as raised, connection.cursor() as cursor:
        cursor.execute("SELECT pg_sleep(2)")
    response = outage.database_unavailable(raised.value)
    assert response.status_code == 503 and response["Retry-After"]
    assert b"busy (statement timeout)" in response.content
    assert not outage.in_outage()


def bounds_connected() -> bool:
    return any(key[0] == "shop.core.timeouts" for key, _, _ in connection_created.receivers)


def test_the_web_alone_bounds_its_waits():
    """Importing the WSGI application connects the bounds; nothing else does (the worker,
    migrations and commands wait as long as they need)."""
    assert not bounds_connected()
    try:
        sys.modules.pop("config.wsgi", None)
        importlib.import_module("config.wsgi")
        assert bounds_connected()
    finally:
        connection_created.disconnect(dispatch_uid="shop.core.timeouts")
