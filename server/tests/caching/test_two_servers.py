"""Two Memcached servers, and two processes that disagree about whether one of them is up (one
saw it fail during a restart, the other did not). A key must never move to the other server
while its own is marked down: the two processes would then read and write different copies, and
an invalidation one of them delivered would never reach the other."""

import time

import pytest
from django.core.cache.backends.memcached import PyMemcacheCache
from pymemcache.exceptions import MemcacheError

from config.settings.base import raising_cache
from contract_tests.services import Daemon, memcached
from shop.core.memcached import FailOpenPyMemcacheCache

pytestmark = pytest.mark.memcached


@pytest.fixture
def servers():
    pair = [memcached(), memcached()]
    for server in pair:
        server.start()
    yield pair
    for server in pair:
        server.stop()


def cache_pair(servers, *, strict: bool) -> tuple[PyMemcacheCache, PyMemcacheCache]:
    """The same cache configuration as production, in two "processes" (two clients)."""
    settings = {
        "BACKEND": "shop.core.memcached.FailOpenPyMemcacheCache",
        "LOCATION": [f"127.0.0.1:{server.port}" for server in servers],
        "KEY_PREFIX": "two-servers",
        "OPTIONS": {
            "use_pooling": True,
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
    return tuple(FailOpenPyMemcacheCache(settings["LOCATION"], settings) for _ in range(2))


def key_on(cache: PyMemcacheCache, server: Daemon) -> str:
    """A key that the hash ring places on `server`."""
    for i in range(1000):
        key = f"key-{i}"
        client = cache._cache._get_client(cache.make_and_validate_key(key))
        if client.server[1] == server.port:
            return key
    raise AssertionError("no key hashes to that server")


def test_a_write_from_a_process_that_saw_a_server_fail_never_lands_on_the_other(servers):
    first, second = cache_pair(servers, strict=True)
    key = key_on(first, servers[0])
    servers[0].stop()
    with pytest.raises((MemcacheError, OSError)):
        first.incr(key)  # the first process sees the server fail and marks it down
    servers[0].start()  # restarted, empty: the second process never noticed
    second.set(key, 1)

    # The first process still believes the server is down: its write must fail loudly (so the
    # caller records it for redelivery), never land on the other server where nobody reads it.
    with pytest.raises(MemcacheError):
        first.set(key, 2)
    assert second.get(key) == 1
    assert first._cache.clients[f"127.0.0.1:{servers[1].port}"].get(first.make_and_validate_key(key)) is None


def test_a_fail_open_reader_reads_a_down_servers_keys_as_misses_not_from_the_other(servers):
    first, _ = cache_pair(servers, strict=False)
    key = key_on(first, servers[0])
    other = f"127.0.0.1:{servers[1].port}"
    first._cache.clients[other].set(first.make_and_validate_key(key), "a copy nobody else reads")
    first._cache.retry_timeout = 0
    servers[0].stop()
    for _ in range(4):  # past retry_attempts: the server is marked down
        assert first.get(key) is None
    assert first._cache._dead_clients
    assert first.get(key) is None
    first.set(key, "written while its server was down")
    assert first._cache.clients[other].get(first.make_and_validate_key(key)) == "a copy nobody else reads"


def test_a_down_server_is_tried_again_after_dead_timeout(servers):
    first, _ = cache_pair(servers, strict=True)
    first._cache.dead_timeout = 0.5
    key = key_on(first, servers[0])
    servers[0].stop()
    with pytest.raises((MemcacheError, OSError)):
        first.set(key, 1)
    servers[0].start()
    with pytest.raises(MemcacheError):
        first.set(key, 1)  # still marked down: no network call at all
    time.sleep(0.6)
    first.set(key, 2)
    assert first.get(key) == 2
