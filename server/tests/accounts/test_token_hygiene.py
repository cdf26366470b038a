"""Tokens die when they should: a refresh token is used once even under a race, a deleted user's
token is a 401, and a password change ends every earlier session."""

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from rest_framework.test import APIClient
from rest_framework_simplejwt.token_blacklist.models import OutstandingToken

from shop.accounts.services import create_user
from shop.core.errors import DomainError
from tests.helpers import assert_problem, race

PASSWORD = "s3cret-Passw0rd"
NEW_PASSWORD = "an0ther-Passw0rd-2"


def login(username="alice", password=PASSWORD) -> dict:
    response = APIClient().post("/api/auth/login/", {"username": username, "password": password})
    assert response.status_code == 200, response.content
    return response.json()


def bearer(access: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    return client


def refresh(token: str):
    return APIClient().post("/api/auth/refresh/", {"refresh": token})


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_of_six_concurrent_refreshes_with_one_token_exactly_one_wins(alice):
    token = login()["refresh"]
    connection.close()  # each thread opens its own connection
    responses = race([lambda: refresh(token) for _ in range(6)])
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] + [401] * 5, statuses
    for response in responses:
        if response.status_code == 401:
            assert_problem(response, 401, "token_not_valid")
    [winner] = [r for r in responses if r.status_code == 200]
    assert refresh(winner.json()["refresh"]).status_code == 200


@pytest.mark.django_db
def test_a_refresh_token_of_a_deleted_user_is_a_401(alice):
    token = login()["refresh"]
    alice.delete()
    assert_problem(refresh(token), 401, "token_not_valid")


@pytest.mark.django_db
def test_a_refresh_token_of_a_deactivated_user_is_a_401(alice):
    token = login()["refresh"]
    alice.is_active = False
    alice.save()
    assert_problem(refresh(token), 401, "token_not_valid")


@pytest.mark.django_db
def test_an_access_token_of_a_deleted_user_is_a_401(alice):
    access = login()["access"]
    alice.delete()
    assert_problem(bearer(access).get("/api/auth/me/"), 401, "authentication_failed")


@pytest.mark.django_db
def test_it_changes_the_password_and_ends_every_earlier_session(alice, django_capture_on_commit_callbacks):
    first, second = login(), login()
    with django_capture_on_commit_callbacks(execute=True):
        response = bearer(first["access"]).post(
            "/api/auth/password/", {"old_password": PASSWORD, "new_password": NEW_PASSWORD}
        )
    assert response.status_code == 204, response.content
    alice.refresh_from_db()
    assert alice.check_password(NEW_PASSWORD)
    for session in (first, second):
        assert_problem(bearer(session["access"]).get("/api/auth/me/"), 401, "token_not_valid")
        assert_problem(refresh(session["refresh"]), 401, "token_not_valid")
    assert not OutstandingToken.objects.filter(user=alice, blacklistedtoken__isnull=True).exists()
    fresh = login(password=NEW_PASSWORD)
    assert bearer(fresh["access"]).get("/api/auth/me/").status_code == 200
    assert refresh(fresh["refresh"]).status_code == 200


@pytest.mark.django_db
def test_a_cached_user_does_not_outlive_a_password_change(alice, django_capture_on_commit_callbacks):
    session = login()
    client = bearer(session["access"])
    assert client.get("/api/auth/me/").status_code == 200  # the user row is now cached
    assert client.get("/api/auth/me/").status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/api/auth/password/", {"old_password": PASSWORD, "new_password": NEW_PASSWORD}
        )
    assert response.status_code == 204
    assert_problem(client.get("/api/auth/me/"), 401, "token_not_valid")


@pytest.mark.django_db
def test_a_password_set_outside_the_api_ends_every_session_too(alice, django_capture_on_commit_callbacks):
    session = login()
    assert bearer(session["access"]).get("/api/auth/me/").status_code == 200
    user = get_user_model().objects.get(pk=alice.pk)  # as the admin's password form does
    user.set_password(NEW_PASSWORD)
    with django_capture_on_commit_callbacks(execute=True):
        user.save()
    assert_problem(bearer(session["access"]).get("/api/auth/me/"), 401, "token_not_valid")
    assert_problem(refresh(session["refresh"]), 401, "token_not_valid")


@pytest.mark.django_db
def test_it_refuses_a_wrong_old_password(alice):
    client = bearer(login()["access"])
    response = client.post("/api/auth/password/", {"old_password": "wrong", "new_password": NEW_PASSWORD})
    body = assert_problem(response, 400, "validation_error")
    assert [(e["field"], e["code"]) for e in body["errors"]] == [("old_password", "password_incorrect")]
    alice.refresh_from_db()
    assert alice.check_password(PASSWORD)
    assert client.get("/api/auth/me/").status_code == 200


@pytest.mark.django_db
def test_it_applies_the_password_validators_to_the_new_password(alice):
    client = bearer(login()["access"])
    response = client.post("/api/auth/password/", {"old_password": PASSWORD, "new_password": "12345678"})
    body = assert_problem(response, 400, "validation_error")
    assert {(e["field"], e["code"]) for e in body["errors"]} == {("new_password", "password_invalid")}
    alice.refresh_from_db()
    assert alice.check_password(PASSWORD)


@pytest.mark.django_db
def test_it_throttles_password_attempts_per_user(alice, settings):
    client = bearer(login()["access"])
    statuses = [
        client.post(
            "/api/auth/password/", {"old_password": "wrong", "new_password": NEW_PASSWORD}
        ).status_code
        for _ in range(11)
    ]
    assert statuses == [400] * 10 + [429]


@pytest.mark.django_db
@pytest.mark.parametrize("username", ["gq<b>y", "a b", "x" * 151])
def test_create_user_runs_the_model_validators(username):
    with pytest.raises(DomainError) as raised:
        create_user(username=username, email="mallory@example.com", password=PASSWORD)
    assert [e.field for e in raised.value.errors] == ["username"]
    assert not get_user_model().objects.exists()


@pytest.mark.django_db
def test_create_user_checks_the_email_too():
    with pytest.raises(DomainError) as raised:
        create_user(username="mallory", email="not an email", password=PASSWORD)
    assert [(e.field, e.code) for e in raised.value.errors] == [("email", "invalid")]


def test_beat_flushes_expired_refresh_tokens_and_keeps_live_ones(alice, settings):
    from datetime import timedelta

    from django.utils import timezone
    from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

    from shop.accounts.tasks import flush_expired_tokens_task

    now = timezone.now()
    expired = OutstandingToken.objects.create(
        user=alice, jti="old", token="x", expires_at=now - timedelta(seconds=1)
    )
    BlacklistedToken.objects.create(token=expired)
    OutstandingToken.objects.create(user=alice, jti="live", token="y", expires_at=now + timedelta(hours=1))
    assert flush_expired_tokens_task.apply().get() == 1
    assert list(OutstandingToken.objects.values_list("jti", flat=True)) == ["live"]
    assert not BlacklistedToken.objects.exists()
    schedule = settings.CELERY_BEAT_SCHEDULE["flush-expired-tokens"]
    assert schedule["task"] == flush_expired_tokens_task.name
