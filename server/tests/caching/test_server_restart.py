"""A Memcached server that restarts closes every connection the processes' pools hold. Those
connections must not count as failures once the server is back: each would otherwise fail the
one call that draws it from the pool (a throttle counting that attempt in process memory, a read
served from the database, the server marked down), one call per pooled connection, in every
process, long after the restart is over."""

import pytest

from config.settings.base import raising_cache
from contract_tests.services import memcached
from shop.core.memcached import FailOpenPyMemcacheCache

pytestmark = pytest.mark.memcached

POOLED = 8  # connections in the pool when the server restarts


@pytest.fixture
def server():
    daemon = memcached()
    daemon.start()
    yield daemon
    daemon.stop()


def production_cache(server, *, strict: bool) -> FailOpenPyMemcacheCache:
    """A client configured as settings/base.py configures `default` (fail open) or, strict, as
    the `throttle` alias (raises when the server is lost)."""
    settings = {
        "BACKEND": "shop.core.memcached.FailOpenPyMemcacheCache",
        "LOCATION": [f"127.0.0.1:{server.port}"],
        "KEY_PREFIX": "restart",
        "OPTIONS": {
            "use_pooling": True,
            "max_pool_size": 16,
            "ignore_exc": True,
            "connect_timeout": 0.2,
            "timeout": 0.2,
            "retry_attempts": 2,
            "retry_timeout": 1,
            "dead_timeout": 10,
        },
    }
    if strict:
        settings = raising_cache(settings)
    return FailOpenPyMemcacheCache(settings["LOCATION"], settings)


def fill_the_pool(cache: FailOpenPyMemcacheCache) -> None:
    """POOLED connections open and back in the pool, as after POOLED requests at once."""
    [pooled] = cache._cache.clients.values()
    connections = [pooled.client_pool.get() for _ in range(POOLED)]
    for connection in connections:
        assert connection.version()  # connected, and answered
    for connection in connections:
        pooled.client_pool.release(connection)
    assert len(pooled.client_pool._free_objs) == POOLED


@pytest.mark.parametrize("strict", [True, False], ids=["throttle", "default"])
def test_a_restarted_server_answers_every_call_at_once(server, strict, caplog):
    cache = production_cache(server, strict=strict)
    fill_the_pool(cache)
    server.stop()
    server.start()  # the same port, empty, every pooled connection closed by the old process

    # Each call draws the next pooled connection (the pool hands them out in turn), so the first
    # POOLED calls each meet one the old server closed. None of them may fail or read a miss.
    for i in range(2 * POOLED):
        cache.set("after", i)  # raises with strict, if it fails
        assert cache.get("after") == i
    assert "event=cache_unavailable" not in caplog.text


def test_a_server_that_stays_down_still_fails(server):
    """What the check before each call does not change: a server that is gone fails the call, and
    the strict client raises, as the throttles' fallback needs."""
    cache = production_cache(server, strict=True)
    fill_the_pool(cache)
    server.stop()
    with pytest.raises(Exception) as raised:
        cache.get("anything")
    assert isinstance(raised.value, OSError) or "Memcache" in type(raised.value).__name__
