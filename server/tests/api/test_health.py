import pytest

from shop.api import health
from tests.helpers import assert_problem

pytestmark = pytest.mark.django_db


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
