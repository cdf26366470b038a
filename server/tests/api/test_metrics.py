"""/metrics in-process (the live-stack test in contract_tests/test_operations.py scrapes gunicorn
and the worker): the token, the order counter, the outbox read at scrape time."""

import datetime

import pytest
import requests
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from config.celery import _serve_metrics
from contract_tests.stack import free_port
from shop.outbox.models import Entry
from tests.helpers import post_order

pytestmark = pytest.mark.django_db


def samples(text: str) -> dict:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


@pytest.fixture
def scrape(client, settings):
    settings.METRICS_TOKEN = "scrape-me"

    def get() -> dict:
        response = client.get("/metrics", HTTP_AUTHORIZATION="Bearer scrape-me")
        assert response.status_code == 200
        return samples(response.content.decode())

    return get


def test_no_token_configured_means_no_metrics(client, settings):
    settings.METRICS_TOKEN = ""
    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 404


def test_a_wrong_token_is_a_404(client, settings):
    settings.METRICS_TOKEN = "scrape-me"
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer scrape-mf").status_code == 404
    assert client.get("/metrics", HTTP_AUTHORIZATION="scrape-me").status_code == 404  # no scheme
    assert client.get("/metrics", HTTP_AUTHORIZATION="bearer scrape-me").status_code == 200


def test_orders_are_counted_by_outcome_and_code(scrape, client_for, alice, make_product):
    lamp = make_product(name="Lamp", stock=1)
    placed = ("shop_orders_total", (("code", ""), ("result", "placed")))
    refused = ("shop_orders_total", (("code", "insufficient_stock"), ("result", "refused")))
    replayed = ("shop_orders_total", (("code", ""), ("result", "replayed")))
    before = scrape()
    client = client_for(alice)
    assert post_order(client, (lamp, 1), HTTP_IDEMPOTENCY_KEY="k1").status_code == 201
    assert post_order(client, (lamp, 1), HTTP_IDEMPOTENCY_KEY="k1").status_code == 201
    assert post_order(client, (lamp, 1)).status_code == 400
    after = scrape()
    assert after[placed] - before.get(placed, 0) == 1
    assert after[replayed] - before.get(replayed, 0) == 1
    assert after[refused] - before.get(refused, 0) == 1


def test_the_outbox_is_read_at_scrape_time(scrape, place, alice, make_product):
    order = place(alice, (make_product(name="Lamp", stock=3), 1))
    Entry.objects.filter(kind="invoice", object_id=order.pk).update(
        status="pending", created_at=timezone.now() - datetime.timedelta(seconds=90)
    )
    found = scrape()
    assert found[("shop_outbox_rows", (("kind", "invoice"), ("state", "pending")))] == 1
    assert found[("shop_outbox_oldest_pending_seconds", (("kind", "invoice"),))] >= 90
    assert found[("shop_outbox_rows", (("kind", "order_confirmation"), ("state", "failed")))] == 0


def test_the_worker_serves_its_metrics_where_asked(settings):
    port = free_port()
    settings.WORKER_METRICS_BIND = f"127.0.0.1:{port}"
    _serve_metrics()
    response = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5)
    assert response.status_code == 200
    assert "shop_task_runs_total" in response.text
