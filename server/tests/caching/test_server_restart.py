"""A Memcached server that restarts closes every connection the processes' pools hold. Those
connections must not count as failures once the server is back: each would otherwise fail the
one call that draws it from the pool (a throttle counting that attempt in process memory, a read
served from the database, the server marked down), one call per pooled connection, in every
process, long after the restart is over."""

import pytest
from django.conf import settings
from pymemcache.exceptions import MemcacheError

from shop.core.memcached import FailOpenPyMemcacheCache

pytestmark = pytest.mark.memcached

POOLED = 8  # connections in the pool when the server restarts


def production_cache(server, *, alias: str) -> FailOpenPyMemcacheCache:
    """A client configured exactly as the settings configure `alias` (`default` fails open,
    `throttle` raises when the server is lost), on the test's own server."""
    configured = {**settings.CACHES[alias], "LOCATION": [f"127.0.0.1:{server.port}"], "KEY_PREFIX": "restart"}
    return FailOpenPyMemcacheCache(configured["LOCATION"], configured)


def fill_the_pool(cache: FailOpenPyMemcacheCache) -> None:
    """POOLED connections open and back in the pool, as after POOLED requests at once."""
    [pooled] = cache._cache.clients.values()
    connections = [pooled.client_pool.get() for _ in range(POOLED)]
    for connection in connections:
        assert connection.version()  # connected, and answered
    for connection in connections:
        pooled.client_pool.release(connection)
    assert len(pooled.client_pool._free_objs) == POOLED


@pytest.mark.parametrize("alias", ["throttle", "default"])
def test_a_restarted_server_answers_every_call_at_once(server, alias, caplog):
    cache = production_cache(server, alias=alias)
    fill_the_pool(cache)
    server.stop()
    server.start()  # the same port, empty, every pooled connection closed by the old process

    # Each call draws the next pooled connection (the pool hands them out in turn), so the first
    # POOLED calls each meet one the old server closed. None of them may fail or read a miss.
    for i in range(2 * POOLED):
        cache.set("after", i)  # the throttle's client raises if it fails
        assert cache.get("after") == i
    assert "event=cache_unavailable" not in caplog.text


def test_a_server_that_stays_down_still_fails(server):
    """What the check before each call does not change: a server that is gone fails the call, and
    the throttles' client raises, as their fallback needs."""
    cache = production_cache(server, alias="throttle")
    fill_the_pool(cache)
    server.stop()
    with pytest.raises((OSError, MemcacheError)):
        cache.get("anything")
