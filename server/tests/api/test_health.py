import pytest

from shop.api import health
from tests.helpers import assert_problem

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_verdict():
    health.forget_verdict()
    yield
    health.forget_verdict()


def test_it_is_alive(anon):
    response = anon.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_it_is_ready_when_every_service_answers(anon, settings):
    response = anon.get("/readyz")
    assert response.status_code == 200, response.content
    checks = response.json()["checks"]
    expected = {"database": "ok", "cache": "ok"}
    if settings.CELERY_BROKER_URL:  # the broker is checked only when one is configured
        expected["broker"] = "ok"
    assert checks == expected


def test_it_names_what_is_down(anon, monkeypatch, settings):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    monkeypatch.setattr(health, "_cache_ok", lambda: False)
    response = anon.get("/readyz")
    body = assert_problem(response, 503, "service_unavailable")
    assert body["checks"] == {"database": "ok", "cache": "down", "broker": "down"}
    assert body["detail"] == "Not ready: cache, broker."


def test_a_database_error_reads_as_down(monkeypatch):
    class Broken:
        def cursor(self):
            raise RuntimeError("connection refused")

    monkeypatch.setattr(health, "connection", Broken())
    assert health._database_ok() is False


def test_the_services_are_checked_at_most_once_a_second(anon, monkeypatch, settings):
    calls = []
    monkeypatch.setattr(health, "_database_ok", lambda: calls.append(1) or True)
    for _ in range(20):
        assert anon.get("/readyz").status_code == 200
    assert len(calls) == 1
    settings.READYZ_CACHE_SECONDS = 0
    health.forget_verdict()
    anon.get("/readyz")
    anon.get("/readyz")
    assert len(calls) == 3


@pytest.mark.redis
def test_the_broker_is_pinged_over_one_kept_connection(anon, settings):
    settings.READYZ_CACHE_SECONDS = 0
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:6379/15"
    for _ in range(5):
        assert anon.get("/readyz").json()["checks"]["broker"] == "ok"
    pool = health._redis(settings.CELERY_BROKER_URL).connection_pool
    assert pool._created_connections == 1
