"""The cached user behind JWT authentication: one query, then none, and never a stale user."""

import pytest

from tests.helpers import assert_problem

pytestmark = pytest.mark.django_db(transaction=True)  # invalidation happens on commit


def test_the_user_row_is_read_once(client_for, alice, django_assert_num_queries):
    client = client_for(alice)
    with django_assert_num_queries(1):
        assert client.get("/api/auth/me/").status_code == 200
    with django_assert_num_queries(0):
        assert client.get("/api/auth/me/").json()["username"] == "alice"


def test_a_changed_user_is_read_again(client_for, alice):
    client = client_for(alice)
    client.get("/api/auth/me/")
    alice.email = "alice@new.example.com"
    alice.save()
    assert client.get("/api/auth/me/").json()["email"] == "alice@new.example.com"


def test_a_deactivated_user_is_refused_at_once(client_for, alice):
    client = client_for(alice)
    client.get("/api/auth/me/")
    alice.is_active = False
    alice.save()
    assert_problem(client.get("/api/auth/me/"), 401, "authentication_failed")


def test_a_deleted_user_is_refused_at_once(client_for, make_user):
    carol = make_user("carol")
    client = client_for(carol)
    client.get("/api/auth/me/")
    carol.delete()
    assert client.get("/api/auth/me/").status_code == 401


def test_an_inactive_user_in_the_cache_is_refused(client_for, alice):
    from django.core.cache import cache

    from shop.accounts.authentication import user_cache_key

    client = client_for(alice)
    client.get("/api/auth/me/")
    alice.is_active = False
    cache.set(user_cache_key(alice.pk), alice)  # as if changed behind the ORM's back
    assert_problem(client.get("/api/auth/me/"), 401, "authentication_failed")
