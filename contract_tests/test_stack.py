"""The live stack itself: served by gunicorn with production settings, tasks done by the worker."""

import time

import requests


def test_it_serves_with_production_settings_and_a_worker(stack):
    ready = requests.get(stack.url("/readyz"), timeout=5).json()
    assert ready == {"status": "ok", "checks": {"database": "ok", "cache": "ok", "broker": "ok"}}
    docs = requests.get(stack.url("/api/docs/"), timeout=5)
    assert docs.status_code == 200 and "swagger-ui" in docs.text
    products = requests.post(
        stack.url("/api/products/"),
        json={"name": "Stack mug", "price": "12.00", "stock": 5, "category": "home"},
        headers=stack.auth("admin"),
        timeout=5,
    )
    assert products.status_code == 201
    order = requests.post(
        stack.url("/api/orders/"),
        json={"items": [{"product": products.json()["id"], "quantity": 1}]},
        headers=stack.auth("alice"),
        timeout=5,
    ).json()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        body = requests.get(
            stack.url(f"/api/orders/{order['id']}/"), headers=stack.auth("alice"), timeout=5
        ).json()
        if body["report_url"]:
            break
        time.sleep(0.5)
    pdf = requests.get(stack.url(body["report_url"]), headers=stack.auth("alice"), timeout=5)
    assert pdf.headers["Content-Type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    assert "event=task_succeeded task=shop.outbox.tasks.run_entry" in stack.log("worker")
