"""Throttles keep limiting while Memcached is unreachable: the counters move to process memory."""

import pytest

from config.settings.base import raising_cache
from shop.api.throttling import failover_cache
from tests.helpers import assert_problem

pytestmark = pytest.mark.django_db

CLOSED_PORT = "127.0.0.1:1"  # nothing listens there: every call is refused at once


@pytest.fixture
def memcached_lost(settings):
    unreachable = {
        "BACKEND": "shop.core.memcached.FailOpenPyMemcacheCache",
        "LOCATION": [CLOSED_PORT],
        "OPTIONS": {"use_pooling": True, "ignore_exc": True, "connect_timeout": 0.2, "timeout": 0.2},
    }
    settings.CACHES = {"default": unreachable, "throttle": raising_cache(unreachable)}
    yield
    failover_cache.local.clear()


def login(client):
    return client.post("/api/auth/login/", {"username": "alice", "password": "wrong-password"})


def test_login_is_still_limited_while_memcached_is_unreachable(anon, alice, memcached_lost, caplog):
    statuses = [login(anon).status_code for _ in range(14)]
    assert statuses == [401] * 10 + [429] * 4
    assert_problem(login(anon), 429, "throttled")
    assert failover_cache.degraded
    assert any("event=throttle_store_unavailable" in r.getMessage() for r in caplog.records)


def test_it_goes_back_to_the_shared_store_when_it_answers(anon, alice, memcached_lost, settings):
    login(anon)
    assert failover_cache.degraded
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
        "throttle": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "throttle"},
    }
    assert login(anon).status_code == 401
    assert not failover_cache.degraded


def test_the_throttle_client_raises_instead_of_failing_open():
    options = raising_cache(
        {
            "BACKEND": "shop.core.memcached.FailOpenPyMemcacheCache",
            "LOCATION": [CLOSED_PORT],
            "OPTIONS": {"ignore_exc": True},
        }
    )["OPTIONS"]
    assert options == {"ignore_exc": False, "retry_attempts": 0, "dead_timeout": 1}
