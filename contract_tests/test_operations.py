"""What an operator sees on the live stack: Prometheus metrics that match what a scenario did, one
request id followed from the POST into the worker's log, and JSON log lines (LOG_FORMAT=json)."""

import json
import secrets

import psycopg
import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from contract_tests.conftest import require_services
from contract_tests.stack import CUSTOMERS, free_port, live_stack
from tests.helpers import wait_for

TOKEN = secrets.token_urlsafe(24)


@pytest.fixture(scope="module")
def ops():
    require_services()
    worker_metrics = f"127.0.0.1:{free_port()}"
    env = {"METRICS_TOKEN": TOKEN, "WORKER_METRICS_BIND": worker_metrics, "LOG_FORMAT": "json"}
    with live_stack(extra_env=env) as stack:
        stack.worker_metrics = f"http://{worker_metrics}/metrics"
        stack.scenario = run_scenario(stack)
        yield stack


def run_scenario(stack) -> dict:
    """2 orders placed (one with a request id of ours), 1 refused for stock, 1 refused by the
    contract; once both are processed, the product list and an order read twice each."""
    admin, alice = stack.auth("admin"), stack.auth("alice")
    product = requests.post(
        stack.url("/api/products/"),
        json={"name": "Metered lamp", "price": "20.00", "stock": 3, "category": "home"},
        headers=admin,
        timeout=10,
    ).json()["id"]

    def order(quantity, **headers):
        return requests.post(
            stack.url("/api/orders/"),
            json={"items": [{"product": product, "quantity": quantity}]},
            headers={**alice, **headers},
            timeout=30,
        )

    first = order(1, **{"X-Request-ID": "trace-ops-1"})
    assert first.status_code == 201 and first.headers["X-Request-ID"] == "trace-ops-1"
    second = order(1)
    assert second.status_code == 201
    assert order(5).json()["code"] == "insufficient_stock"
    assert order(0).json()["code"] == "validation_error"
    ids = [first.json()["id"], second.json()["id"]]
    with psycopg.connect(stack.env["DATABASE_URL"]) as conn:
        wait_for(
            lambda: (
                conn.execute(
                    "SELECT count(*) FILTER (WHERE kind = 'order_confirmation' AND status = 'done'),"
                    " count(*) FILTER (WHERE status = 'pending') FROM outbox_entry"
                ).fetchone()
                == (2, 0)
            ),
            timeout=60,
            what="both confirmations, and nothing else pending",
        )
    for path in ("/api/products/", f"/api/orders/{ids[0]}/", "/api/products/", f"/api/orders/{ids[0]}/"):
        assert requests.get(stack.url(path), headers=alice, timeout=10).status_code == 200
    return {"orders": ids}


def scrape(url: str, **headers) -> dict[tuple[str, tuple], float]:
    response = requests.get(url, headers=headers, timeout=10)
    assert response.status_code == 200, response.text[:500]
    assert response.headers["Content-Type"].startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(samples, name: str, **labels) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_metrics_need_the_token(ops):
    assert requests.get(ops.url("/metrics"), timeout=10).status_code == 404
    wrong = requests.get(ops.url("/metrics"), headers={"Authorization": "Bearer nope"}, timeout=10)
    assert wrong.status_code == 404


def test_the_web_metrics_count_what_the_scenario_did(ops):
    samples = scrape(ops.url("/metrics"), Authorization=f"Bearer {TOKEN}")
    # orders: by outcome and problem code, whoever refused them
    assert value(samples, "shop_orders_total", result="placed", code="") == 2
    assert value(samples, "shop_orders_total", result="refused", code="insufficient_stock") == 1
    assert value(samples, "shop_orders_total", result="refused", code="validation_error") == 1
    # requests: by operationId and status class, from both gunicorn workers
    duration = "shop_http_request_duration_seconds_count"
    assert value(samples, duration, operation="createOrder", status="2xx") == 2
    assert value(samples, duration, operation="createOrder", status="4xx") == 2
    assert value(samples, duration, operation="createProduct", status="2xx") == 1
    assert value(samples, duration, operation="getOrder", status="2xx") == 2
    assert not [key for key in samples if ("path", ops.url("/")) in key[1]]  # never a raw path
    # the cache: the second read of each view was a hit
    for view in ("product_list", "order_detail"):
        assert value(samples, "shop_cache_lookups_total", view=view, result="miss") == 1
        assert value(samples, "shop_cache_lookups_total", view=view, result="hit") == 1
    # the outbox, read from the database at scrape time: everything done
    for kind in ("invoice", "order_confirmation", "shipping_notice"):
        assert value(samples, "shop_outbox_rows", kind=kind, state="pending") == 0
        assert value(samples, "shop_outbox_rows", kind=kind, state="failed") == 0
        assert value(samples, "shop_outbox_oldest_pending_seconds", kind=kind) == 0


def test_the_worker_metrics_count_each_task_and_each_kind_of_work(ops):
    samples = scrape(ops.worker_metrics)
    # 2 orders: an invoice and an e-mail each; and the verification e-mails of the customers the
    # stack registered. All first attempts: run by drains (how many depends on how the commits
    # met them), none by the single-entry task
    assert value(samples, "shop_outbox_runs_total", kind="email_verification", outcome="done") == len(
        CUSTOMERS
    )
    drains = value(samples, "shop_task_runs_total", task="shop.outbox.tasks.drain", outcome="succeeded")
    assert 1 <= drains <= 4 + len(CUSTOMERS)
    assert value(samples, "shop_task_runs_total", task="shop.outbox.tasks.drain", outcome="failed") == 0
    assert value(samples, "shop_task_duration_seconds_count", task="shop.outbox.tasks.drain") == drains
    assert (
        value(samples, "shop_task_runs_total", task="shop.outbox.tasks.run_entry", outcome="succeeded") == 0
    )
    for kind in ("invoice", "order_confirmation"):
        assert value(samples, "shop_outbox_runs_total", kind=kind, outcome="done") == 2
        assert value(samples, "shop_outbox_runs_total", kind=kind, outcome="retried") == 0
        assert value(samples, "shop_outbox_run_duration_seconds_count", kind=kind) == 2


def test_one_request_id_from_the_post_to_the_worker(ops):
    order_id = ops.scenario["orders"][0]
    web = [json.loads(line) for line in ops.log("web").splitlines()]
    worker = [json.loads(line) for line in ops.log("worker").splitlines()]  # every line is JSON
    [access] = [line for line in web if line.get("request_id") == "trace-ops-1"]
    assert (access["event"], access["operation"], access["status"]) == ("request", "createOrder", "201")
    # each entry's run under the id of the request that owed it, whichever drain ran it
    traced = {
        (line["event"], line["kind"], line["outcome"])
        for line in worker
        if line.get("request_id") == "trace-ops-1" and line.get("event") == "outbox_run"
    }
    assert traced == {("outbox_run", "invoice", "done"), ("outbox_run", "order_confirmation", "done")}
    # and what the work cost, on lines of its own
    costs = {line["event"] for line in worker if line.get("request_id") == "trace-ops-1"}
    assert {"invoice_rendered", "email_sent"} <= costs
    assert all(
        line.get("order_id", line.get("object_id")) == str(order_id)
        for line in worker
        if line.get("request_id") == "trace-ops-1" and ("order_id" in line or "object_id" in line)
    )
    # the other order's work carries the id its own request was given, not ours
    assert any(
        line.get("order_id") == str(ops.scenario["orders"][1])
        and line["request_id"] not in ("-", "trace-ops-1")
        for line in worker
    )
