"""Logout ends the session: its refresh token and the access token it was sent with, in this
process at once and through the cached user in every other; other sessions go on. A bulk update
of users reaches the caches like a save."""

import pytest
from rest_framework.test import APIClient

from shop.accounts.models import User
from shop.accounts.recent_tokens import recent_tokens
from tests.helpers import assert_problem

pytestmark = pytest.mark.django_db(transaction=True)  # invalidation happens on commit


def session(anon, username="alice") -> tuple[APIClient, str]:
    tokens = anon.post("/api/auth/login/", {"username": username, "password": "alice-pass-123"}).json()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    return client, tokens["refresh"]


@pytest.fixture
def alice(make_user):
    return make_user("alice", password="alice-pass-123")


def test_the_access_token_of_a_logged_out_session_is_refused_at_once(anon, alice):
    client, refresh = session(anon)
    assert client.get("/api/auth/me/").status_code == 200  # verified and remembered
    assert client.post("/api/auth/logout/", {"refresh": refresh}).status_code == 204
    assert_problem(client.get("/api/auth/me/"), 401, "token_not_valid")
    assert_problem(client.get("/api/orders/"), 401, "token_not_valid")


def test_another_process_refuses_it_once_its_remembered_tokens_expire(anon, alice):
    client, refresh = session(anon)
    client.get("/api/auth/me/")
    client.post("/api/auth/logout/", {"refresh": refresh})
    recent_tokens.clear()  # what another process holds at most TOKEN_CACHE_SECONDS
    assert_problem(client.get("/api/auth/me/"), 401, "token_not_valid")


def test_other_sessions_of_the_user_go_on(anon, alice):
    ended, refresh = session(anon)
    other, other_refresh = session(anon)
    other.get("/api/auth/me/")
    ended.post("/api/auth/logout/", {"refresh": refresh})
    assert other.get("/api/auth/me/").status_code == 200
    assert anon.post("/api/auth/refresh/", {"refresh": other_refresh}).status_code == 200


def test_the_ended_ids_are_pruned_when_they_expire(anon, alice, monkeypatch):
    client, refresh = session(anon)
    client.post("/api/auth/logout/", {"refresh": refresh})
    [(jti, expires)] = User.objects.get(pk=alice.pk).logged_out_tokens.items()
    client, refresh = session(anon)
    monkeypatch.setattr("time.time", lambda: expires + 1)
    client.post("/api/auth/logout/", {"refresh": refresh})
    assert jti not in User.objects.get(pk=alice.pk).logged_out_tokens
    assert len(User.objects.get(pk=alice.pk).logged_out_tokens) == 1


def test_a_bulk_deactivation_is_refused_like_a_save(anon, alice, client_for):
    client = client_for(alice)
    assert client.get("/api/auth/me/").status_code == 200
    User.objects.filter(username="alice").update(is_active=False)
    recent_tokens.clear()  # another process, TOKEN_CACHE_SECONDS later
    assert_problem(client.get("/api/auth/me/"), 401, "authentication_failed")


def test_a_bulk_update_forgets_this_process_tokens_at_once(alice, client_for):
    client = client_for(alice)
    client.get("/api/auth/me/")
    User.objects.filter(pk=alice.pk).update(is_active=False)
    assert_problem(client.get("/api/auth/me/"), 401, "authentication_failed")
