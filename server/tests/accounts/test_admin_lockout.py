"""The Django admin's login is locked after AXES_FAILURE_LIMIT failures (django-axes): for the
username from anywhere and for the address, until the cool-off ends. Failures at the API's login
count too (a staff password guessed there locks the admin as well); the API's login itself is
limited by its own throttle, not locked."""

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db

LOGIN = "/admin/login/?next=/admin/"


@pytest.fixture
def staff_user(make_user):
    user = make_user("boss", is_staff=True, password="right-pass-Qm4")
    user.is_superuser = True
    user.save()
    return user


def attempt(password: str, *, username: str = "boss", address: str = "203.0.113.7"):
    return Client(REMOTE_ADDR=address).post(LOGIN, {"username": username, "password": password})


def test_the_right_password_after_five_failures_is_refused(staff_user, settings):
    statuses = [attempt("guess").status_code for _ in range(settings.AXES_FAILURE_LIMIT)]
    assert statuses == [200] * (settings.AXES_FAILURE_LIMIT - 1) + [429]  # the form again, then locked
    assert attempt("right-pass-Qm4").status_code == 429


def test_the_username_is_locked_from_every_address(staff_user, settings):
    for n in range(settings.AXES_FAILURE_LIMIT):
        attempt("guess", address=f"203.0.113.{n + 10}")
    assert attempt("right-pass-Qm4", address="198.51.100.1").status_code == 429


def test_the_address_is_locked_for_every_username(staff_user, make_user, settings):
    for n in range(settings.AXES_FAILURE_LIMIT):
        attempt("guess", username=f"nobody{n}")
    assert attempt("right-pass-Qm4").status_code == 429


def test_a_success_resets_the_count(staff_user, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        attempt("guess")
    assert attempt("right-pass-Qm4").status_code == 302
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        attempt("guess")
    assert attempt("right-pass-Qm4").status_code == 302


def test_guesses_at_the_api_lock_the_admin_but_not_the_api(staff_user, anon, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        anon.post("/api/auth/login/", {"username": "boss", "password": "guess"})
    assert attempt("right-pass-Qm4").status_code == 429
    right = {"username": "boss", "password": "right-pass-Qm4"}
    assert anon.post("/api/auth/login/", right).status_code == 200


def test_behind_the_proxy_the_address_is_the_clients_not_the_proxys(staff_user, make_user, settings):
    """NUM_PROXIES=1 (compose): every request comes from nginx's address; the client's is the one
    nginx put in X-Forwarded-For (it overwrites what the client sent)."""
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    make_user("other", is_staff=True, password="other-pass-Zk8")

    def through_proxy(username: str, client: str):
        return Client(REMOTE_ADDR="172.28.0.10", HTTP_X_FORWARDED_FOR=client).post(
            LOGIN, {"username": username, "password": "guess"}
        )

    statuses = [through_proxy("boss", "203.0.113.7").status_code for _ in range(settings.AXES_FAILURE_LIMIT)]
    assert statuses[-1] == 429  # that client is locked out ...
    assert through_proxy("other", "198.51.100.4").status_code == 200  # ... not everyone behind the proxy
    assert through_proxy("other", "203.0.113.7").status_code == 429  # the address is, for every username
