"""Access tokens verified in the last TOKEN_CACHE_SECONDS (at most 2) are taken on trust by the
process: no signature check, no user read. A change made in this process drops them at once; one
made elsewhere (here: behind the ORM's back, with the other processes' invalidation delivered) is
seen within the bound."""

import time

import pytest
from django.db import connection
from rest_framework_simplejwt.authentication import JWTAuthentication

from shop.accounts.cache import invalidate_users
from tests.helpers import assert_problem

pytestmark = pytest.mark.django_db(transaction=True)  # invalidation happens on commit


@pytest.fixture
def verified(monkeypatch):
    """How many times a token's signature was checked."""
    calls = []
    original = JWTAuthentication.get_validated_token

    def counting(self, raw_token):
        calls.append(raw_token)
        return original(self, raw_token)

    monkeypatch.setattr(JWTAuthentication, "get_validated_token", counting)
    return calls


def test_a_repeated_token_is_verified_once_and_reads_nothing(
    client_for, alice, verified, django_assert_num_queries
):
    client = client_for(alice)
    assert client.get("/api/auth/me/").status_code == 200
    with django_assert_num_queries(0):
        for _ in range(5):
            assert client.get("/api/auth/me/").json()["username"] == "alice"
    assert len(verified) == 1


def test_a_password_change_here_ends_the_session_here_at_once(client_for, alice):
    client = client_for(alice)
    assert client.get("/api/auth/me/").status_code == 200
    changed = client.post(
        "/api/auth/password/", {"old_password": "s3cret-Passw0rd", "new_password": "another-Passw0rd-9"}
    )
    assert changed.status_code == 204
    assert_problem(client.get("/api/auth/me/"), 401, "token_not_valid")


def test_a_deactivation_here_is_refused_here_at_once(client_for, alice):
    client = client_for(alice)
    assert client.get("/api/auth/me/").status_code == 200
    alice.is_active = False
    alice.save()
    assert_problem(client.get("/api/auth/me/"), 401, "authentication_failed")


def test_a_change_made_elsewhere_is_seen_within_the_bound(client_for, alice, settings):
    settings.TOKEN_CACHE_SECONDS = 0.5
    client = client_for(alice)
    assert client.get("/api/auth/me/").status_code == 200
    # another process deactivates alice: the row changes and the shared cache is invalidated, but
    # this process's recently verified token still stands for its bound (plain SQL: no signal of
    # this process's own sees it)
    with connection.cursor() as cursor:
        cursor.execute("UPDATE accounts_user SET is_active = false WHERE id = %s", [alice.pk])
    invalidate_users([alice.pk])
    assert client.get("/api/auth/me/").status_code == 200
    time.sleep(0.6)
    assert_problem(client.get("/api/auth/me/"), 401, "authentication_failed")


def test_the_bound_is_never_above_two_seconds(monkeypatch):
    import importlib

    import config.settings.base as base

    monkeypatch.setenv("TOKEN_CACHE_SECONDS", "30")
    try:
        assert importlib.reload(base).TOKEN_CACHE_SECONDS == 2.0
    finally:
        monkeypatch.delenv("TOKEN_CACHE_SECONDS")
        importlib.reload(base)


def test_each_request_gets_its_own_copy_of_the_user(client_for, alice):
    from shop.accounts.recent_tokens import recent_tokens

    client = client_for(alice)
    client.get("/api/auth/me/")
    (raw_token,) = list(recent_tokens._entries)
    first, _ = recent_tokens.get(raw_token)
    first.email = "changed@example.com"
    first._state.adding = True
    first._state.fields_cache["cached"] = object()
    second, _ = recent_tokens.get(raw_token)
    assert second.email == "alice@example.com" and second is not first
    assert second._state is not first._state and second._state.adding is False
    assert "cached" not in second._state.fields_cache and second._state.db == "default"
    assert second.pk == alice.pk and second.password == alice.password
