"""Registration, login, refresh rotation, logout, me, throttling."""

import time

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache
from rest_framework_simplejwt.tokens import AccessToken

from tests.helpers import assert_problem

pytestmark = pytest.mark.django_db

PASSWORD = "s3cret-Passw0rd"


def login(client, username="alice", password=PASSWORD):
    return client.post("/api/auth/login/", {"username": username, "password": password})


def test_it_registers_a_customer(anon):
    response = anon.post(
        "/api/auth/register/", {"username": "carol", "email": "Carol@Example.com", "password": PASSWORD}
    )
    assert response.status_code == 201
    body = response.json()
    assert body["username"] == "carol" and body["is_staff"] is False
    user = get_user_model().objects.get(pk=body["id"])
    assert user.check_password(PASSWORD)
    assert not user.is_staff


def test_it_rejects_duplicate_username_and_email_case_insensitively(anon, alice):
    response = anon.post(
        "/api/auth/register/", {"username": "ALICE", "email": "ALICE@example.com", "password": PASSWORD}
    )
    body = assert_problem(response, 400, "validation_error")
    assert {e["field"] for e in body["errors"]} == {"username", "email"}


def test_it_applies_the_password_validators(anon):
    response = anon.post(
        "/api/auth/register/", {"username": "dave", "email": "dave@example.com", "password": "12345678"}
    )
    body = assert_problem(response, 400, "validation_error")
    assert {e["field"] for e in body["errors"]} == {"password"}
    assert any("common" in e["message"] for e in body["errors"])
    assert not get_user_model().objects.filter(username="dave").exists()


def test_it_logs_in_and_reads_me(anon, alice):
    tokens = login(anon).json()
    anon.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    response = anon.get("/api/auth/me/")
    assert response.status_code == 200
    assert response.json() == {
        "id": alice.id,
        "username": "alice",
        "email": "alice@example.com",
        "email_verified": False,
        "is_staff": False,
    }


def test_it_rejects_wrong_credentials(anon, alice):
    assert_problem(login(anon, password="wrong-password"), 401, "authentication_failed")


def test_it_rejects_an_invalid_access_token(anon):
    anon.credentials(HTTP_AUTHORIZATION="Bearer not-a-token")
    assert_problem(anon.get("/api/auth/me/"), 401, "token_not_valid")


def test_login_and_refresh_say_how_long_the_access_token_lives(anon, alice, settings):
    lifetime = int(settings.SIMPLE_JWT["ACCESS_TOKEN_LIFETIME"].total_seconds())
    logged_in = login(anon).json()
    assert set(logged_in) == {"access", "refresh", "expires_in"}
    assert logged_in["expires_in"] == lifetime == 15 * 60
    refreshed = anon.post("/api/auth/refresh/", {"refresh": logged_in["refresh"]}).json()
    assert refreshed["expires_in"] == lifetime
    exp = AccessToken(refreshed["access"])["exp"]
    assert abs(exp - time.time() - lifetime) < 60  # what the token itself says


def test_it_rotates_refresh_tokens_and_blacklists_the_old_one(anon, alice):
    first = login(anon).json()["refresh"]
    response = anon.post("/api/auth/refresh/", {"refresh": first})
    assert response.status_code == 200
    second = response.json()["refresh"]
    assert second != first
    assert_problem(anon.post("/api/auth/refresh/", {"refresh": first}), 401, "token_not_valid")
    assert anon.post("/api/auth/refresh/", {"refresh": second}).status_code == 200


def test_it_logs_out_by_blacklisting_the_refresh_token(anon, client_for, alice):
    refresh = login(anon).json()["refresh"]
    client = client_for(alice)
    assert client.post("/api/auth/logout/", {"refresh": refresh}).status_code == 204
    assert_problem(anon.post("/api/auth/refresh/", {"refresh": refresh}), 401, "token_not_valid")
    again = client_for(alice).post("/api/auth/logout/", {"refresh": refresh})  # another session's token
    assert_problem(again, 400, "token_not_valid")


def test_it_refuses_to_log_out_another_users_token(anon, client_for, alice, bob):
    refresh = login(anon, "alice").json()["refresh"]
    assert_problem(client_for(bob).post("/api/auth/logout/", {"refresh": refresh}), 400, "token_not_valid")
    assert anon.post("/api/auth/refresh/", {"refresh": refresh}).status_code == 200


def test_it_rejects_garbage_refresh_tokens_on_logout(client_for, alice):
    assert_problem(
        client_for(alice).post("/api/auth/logout/", {"refresh": "garbage"}), 400, "token_not_valid"
    )


def test_it_throttles_login_per_ip(anon, alice):
    cache.clear()
    statuses = [login(anon, password="wrong-password").status_code for _ in range(11)]
    assert statuses[:10] == [401] * 10
    response = login(anon)
    body = assert_problem(response, 429, "throttled")
    assert int(response["Retry-After"]) > 0
    assert body["detail"].startswith("Request was throttled. Expected available in ")
