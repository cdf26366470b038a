"""The cache's two shortcuts on every read: its key check answers what Django's answers, and the
default backend is the one Django hands this thread, looked up once."""

import threading

import pytest
from django.core.cache import InvalidCacheKey, caches
from django.core.cache.backends.base import memcache_key_warnings
from pymemcache.exceptions import MemcacheIllegalInputError

from shop.core.cache import default_cache
from shop.core.memcached import FailOpenPyMemcacheCache

# Nothing listens there: a key check needs no server, and a read of a legal key is a miss.
OFFLINE = {"OPTIONS": {"ignore_exc": True, "connect_timeout": 0.05, "timeout": 0.05, "retry_attempts": 0}}


@pytest.fixture
def backend():
    return FailOpenPyMemcacheCache("127.0.0.1:1", OFFLINE)


def django_refuses(key: str) -> bool:
    return any(True for _ in memcache_key_warnings(key))


def ours_refuses(backend, key: str) -> bool:
    try:
        backend.validate_key(key)
    except InvalidCacheKey:
        return True
    return False


@pytest.mark.parametrize("position", ["start", "middle", "end"])
def test_every_character_is_judged_as_django_judges_it(backend, position):
    for code in [*range(0x300), 0x2028, 0x3000, 0xFEFF, 0x1F600]:
        char = chr(code)
        key = {"start": f"{char}shop:1:k", "middle": f"shop:1:{char}:k", "end": f"shop:1:k{char}"}[position]
        assert ours_refuses(backend, key) is django_refuses(key), repr(key)


def test_a_key_too_long_is_refused_with_djangos_message(backend):
    assert ours_refuses(backend, "k" * 250) is False
    with pytest.raises(InvalidCacheKey, match="longer than 250"):
        backend.validate_key("k" * 251)
    with pytest.raises(InvalidCacheKey, match="characters that will cause errors"):
        backend.validate_key("a key")


def test_the_backend_refuses_what_it_refused_before(backend):
    with pytest.raises(InvalidCacheKey):
        backend.get("a key")
    with pytest.raises(InvalidCacheKey):
        backend.get_many(["fine", "not\nfine"])
    with pytest.raises(MemcacheIllegalInputError):  # pymemcache's own check still runs
        backend._cache.get_many(["fine", "not fine"])
    # Legal keys, non-ASCII ones too (Django's backend allows them): a miss, nobody is there.
    assert backend.get("café") is None
    assert backend.get_many(["shop:catalog:stock:version"]) == {}


def test_the_default_backend_is_djangos_for_each_thread():
    assert default_cache() is caches["default"]
    assert default_cache() is default_cache()
    seen = {}

    def other_thread():
        seen["backend"], seen["django"] = default_cache(), caches["default"]

    thread = threading.Thread(target=other_thread)
    thread.start()
    thread.join()
    assert seen["backend"] is seen["django"]


def test_a_change_of_caches_gives_the_new_backend(settings):
    before = default_cache()
    locmem = {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "x"}
    settings.CACHES = {"default": locmem}
    after = default_cache()
    assert after is not before
    assert after is caches["default"]
    assert after.__class__.__name__ == "LocMemCache"
