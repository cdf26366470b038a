"""The Memcached client every cache of the project uses: Django's PyMemcacheCache, except that a
key never moves to another server when one fails, a failure is logged, pooled connections are
kept between requests, and a pooled connection the server closed (a restart) is replaced before
it is used instead of failing a call."""

import logging
import select
import time

from django.core.cache.backends.base import MEMCACHE_MAX_KEY_LENGTH
from django.core.cache.backends.memcached import PyMemcacheCache
from pymemcache.client.base import Client, check_key_helper
from pymemcache.client.hash import HashClient
from pymemcache.exceptions import MemcacheError

logger = logging.getLogger(__name__)


class PrecheckedClient(Client):
    """A connection of `PinnedHashClient`, which checks every key before it hands it to one: the
    key is not checked a second time here (pymemcache checks it in both, about 6,000 CPU
    instructions each time)."""

    def check_key(self, key, key_prefix: bytes) -> bytes:
        return key_prefix + (key.encode("utf8") if isinstance(key, str) else key)

    def _drop_if_closed(self) -> None:
        """Closes a kept connection that has something to read before a command was sent: the
        server closed it (a restart, an idle timeout) or it holds bytes no command asked for.
        The command then connects afresh. Without this, a restarted server fails one call per
        connection the pool kept (the throttles counting that attempt in process memory, a read
        going to the database, the server marked down) long after it is back. The check is one
        poll() that does not wait; a server lost after it fails the call as before."""
        if self.sock is None:
            return
        poller = select.poll()
        poller.register(self.sock, select.POLLIN)
        if poller.poll(0):
            self.close()

    def _fetch_cmd(self, *args, **kwargs):
        self._drop_if_closed()
        return super()._fetch_cmd(*args, **kwargs)

    def _store_cmd(self, *args, **kwargs):
        self._drop_if_closed()
        return super()._store_cmd(*args, **kwargs)

    def _misc_cmd(self, *args, **kwargs):
        self._drop_if_closed()
        return super()._misc_cmd(*args, **kwargs)


class PinnedHashClient(HashClient):
    """pymemcache's HashClient, except that a key never moves to another server.

    The stock client takes a failing server out of its hash ring, so its keys move to the other
    servers until it is added back. With several processes that is a split brain: one process
    that saw a server fail during a restart writes a key (a version bump, a throttle counter) on
    the other server while every process that did not see the failure keeps reading the first
    one, and serves what the bump was meant to invalidate. Here a server marked down keeps its
    keys: they read as misses (or raise, with `ignore_exc=False`, so an invalidation is recorded
    and redelivered) until `dead_timeout` has passed and the server is tried again."""

    client_class = PrecheckedClient

    def remove_server(self, server, port=None) -> None:
        if port is not None:
            server = (server, port)
        self._failed_clients.pop(server, None)
        self._dead_clients[server] = time.time()

    def _retry_dead(self) -> None:
        now = time.time()
        for server, dead_since in list(self._dead_clients.items()):
            if now - dead_since > self.dead_timeout:
                logger.info("event=cache_server_retry server=%s:%s", *server)
                del self._dead_clients[server]

    def _get_client(self, key):
        if len(self.clients) == 1:  # every key is on the one server: no rendezvous hash to compute
            check_key_helper(key, self.allow_unicode_keys, self.key_prefix)
            if self._dead_clients:
                self._retry_dead()
            client = next(iter(self.clients.values()))
        else:
            client = super()._get_client(key)
        if client is not None and client.server in self._dead_clients:
            if self.ignore_exc:
                return None  # a miss, not a read of another server's copy
            raise MemcacheError(f"{client.server[0]}:{client.server[1]} is marked down")
        return client

    def get_many(self, keys, gets=False, *args, **kwargs):
        """With one server, every key goes to it in one call: no batching of the keys by server
        (about 2 % of a cached read's CPU, py-spy). The server's client checks every key, and a
        server marked down reads as a miss, or raises, exactly as in the stock batching."""
        if len(self.clients) != 1 or not keys:
            return super().get_many(keys, gets, *args, **kwargs)
        keys = list(keys)
        for key in keys[1:]:  # an illegal key raises here, as in the stock batching
            check_key_helper(key, self.allow_unicode_keys, self.key_prefix)
        client = self._get_client(keys[0])
        if client is None:
            return {}
        fetch = client.gets_many if gets else client.get_many
        return self._safely_run_func(client, fetch, {}, keys, *args, **kwargs)

    def _mark_failed_server(self, server) -> None:
        logger.warning("event=cache_unavailable server=%s:%s action=serve_from_database", *server)
        super()._mark_failed_server(server)


class FailOpenPyMemcacheCache(PyMemcacheCache):
    """Django's PyMemcacheCache on `PinnedHashClient` (keys stay on their server; a failure is
    logged), keeping its pooled connections between requests."""

    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = PinnedHashClient

    def validate_key(self, key: str) -> None:
        """Django's check, answered at once for a key of printable ASCII without a space, which
        is every key this project makes. Django's own runs a lazily compiled regular expression
        through a proxy object for every key: about 20,000 CPU instructions a key, a sixth of a
        Memcached read (`make bench-instructions`). Any other key gets Django's check and its
        message."""
        if len(key) <= MEMCACHE_MAX_KEY_LENGTH and key.isascii() and key.isprintable() and " " not in key:
            return
        super().validate_key(key)

    def close(self, **kwargs) -> None:
        # Django calls this at the end of every request, and the stock backend then drops every
        # connection: the next request pays a DNS lookup and a TCP connect per server (16 % of a
        # cached read's time under load, measured with py-spy). The pool is safe to keep.
        pass
