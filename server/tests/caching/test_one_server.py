"""One Memcached server, the common case: `PinnedHashClient.get_many` sends every key to it in one
call instead of batching the keys by server. It must answer exactly what pymemcache's own
HashClient answers: the same values, the same miss while the server is down or marked down, the
same exception for an illegal key or (without `ignore_exc`) a server that is down."""

import pytest
from pymemcache.client.hash import HashClient
from pymemcache.exceptions import MemcacheError, MemcacheIllegalInputError

from shop.core.memcached import PinnedHashClient

pytestmark = pytest.mark.memcached


def clients(server, *, ignore_exc: bool) -> list[HashClient]:
    options = {
        "use_pooling": True,
        "ignore_exc": ignore_exc,
        "connect_timeout": 0.2,
        "timeout": 0.2,
        "retry_attempts": 1,
        "retry_timeout": 0,
        "dead_timeout": 60,
    }
    return [cls([("127.0.0.1", server.port)], **options) for cls in (HashClient, PinnedHashClient)]


def outcome(call, *args):
    try:
        return call(*args)
    except Exception as exc:  # the type is what both must agree on
        return type(exc)


def test_a_get_many_is_one_call_and_answers_what_the_stock_client_answers(server, monkeypatch):
    stock, pinned = clients(server, ignore_exc=False)
    stock.set_many({"a": b"1", "b": b"2"}, noreply=False)  # stored before anyone reads
    calls = []
    (only,) = pinned.clients.values()
    monkeypatch.setattr(only, "get_many", lambda keys: calls.append(keys) or {"a": b"1", "b": b"2"})
    assert pinned.get_many(["a", "b", "absent"]) == {"a": b"1", "b": b"2"}
    assert calls == [["a", "b", "absent"]]
    monkeypatch.undo()
    for keys in (["a", "b", "absent"], ("a",), [], iter(["b", "a"])):
        keys = list(keys)
        assert pinned.get_many(keys) == stock.get_many(keys)
    assert pinned.gets_many(["a", "absent"]).keys() == stock.gets_many(["a", "absent"]).keys() == {"a"}


def test_an_illegal_key_raises_as_in_the_stock_client_wherever_it_is(server):
    stock, pinned = clients(server, ignore_exc=True)
    for keys in (["bad key", "a"], ["a", "bad key"], ["a", "b" * 251]):
        assert outcome(pinned.get_many, keys) is outcome(stock.get_many, keys) is MemcacheIllegalInputError


@pytest.mark.parametrize("ignore_exc", [True, False])
def test_a_server_that_is_down_reads_as_a_miss_or_raises_as_in_the_stock_client(server, ignore_exc):
    stock, pinned = clients(server, ignore_exc=ignore_exc)
    for client in (stock, pinned):
        client.set("a", b"1", noreply=False)  # each holds a pooled connection, now cut
    server.stop()
    first = [outcome(client.get_many, ["a", "b"]) for client in (stock, pinned)]
    # Both fail the call: a miss, or (strict) an error. Not always the same error: the stock client
    # reads from the cut connection (MemcacheUnexpectedCloseError), ours sees it closed, connects
    # again and is refused (ConnectionRefusedError).
    if ignore_exc:
        assert first == [{}, {}]
    else:
        assert all(isinstance(f, type) and issubclass(f, (OSError, MemcacheError)) for f in first), first
    # Once its retries are spent the server is marked down: a miss, or (strict) an error.
    later = [outcome(pinned.get_many, ["a", "b"]) for _ in range(6)]
    assert later[-1] == ({} if ignore_exc else MemcacheError)
    assert pinned._dead_clients


COMMANDS = {
    "get": lambda client, key: client.get(key),
    "set": lambda client, key: client.set(key, b"1", noreply=False),
    "add": lambda client, key: client.add(key, b"1", noreply=False),
    "delete": lambda client, key: client.delete(key, noreply=False),
    "incr": lambda client, key: client.incr(key, 1),
    "touch": lambda client, key: client.touch(key, 60, noreply=False),
    "get_many": lambda client, key: client.get_many(["fine", key]),
    "set_many": lambda client, key: client.set_many({"fine": b"1", key: b"1"}, noreply=False),
    "delete_many": lambda client, key: client.delete_many(["fine", key], noreply=False),
}


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_checks_its_keys_once_and_still_refuses_an_illegal_one(server, command):
    """The pooled connections of `PinnedHashClient` do not check a key again: the hash client
    checked it, for every command, and raises even where it would fail open."""
    stock, pinned = clients(server, ignore_exc=True)
    run = COMMANDS[command]
    for key in ("bad key", "k" * 251, "nul\x00", " lead"):
        assert outcome(run, pinned, key) is outcome(run, stock, key) is MemcacheIllegalInputError
    assert outcome(run, pinned, "legal-1") == outcome(run, stock, "legal-2")  # two keys: add stores
