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
    from shop.accounts.cache import cached_user, store_user
    from shop.accounts.recent_tokens import recent_tokens

    client = client_for(alice)
    client.get("/api/auth/me/")
    alice.is_active = False
    _, stamp = cached_user(alice.pk)
    store_user(alice.pk, stamp, alice)  # as if changed behind the ORM's back
    recent_tokens.clear()  # TOKEN_CACHE_SECONDS later (test_recent_tokens.py covers the bound)
    assert_problem(client.get("/api/auth/me/"), 401, "authentication_failed")


def test_a_row_read_before_a_deactivation_commits_is_never_served(client_for, alice):
    """The race: a request reads the version, then the row; a deactivation commits (and bumps the
    version) before that request stores the row it read. The stored row is never trusted."""
    from shop.accounts.cache import cached_user, store_user
    from shop.accounts.models import User

    client = client_for(alice)
    _, stamp = cached_user(alice.pk)  # the racing request: version first ...
    stale = User.objects.get(pk=alice.pk)  # ... then the row, still active
    alice.is_active = False
    alice.save()  # commits (transactional test) and bumps the version
    store_user(alice.pk, stamp, stale)  # the racing request stores what it read
    assert_problem(client.get("/api/auth/me/"), 401, "authentication_failed")
