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
    log = stack.log("worker")
    assert "event=task_succeeded task=shop.outbox.tasks.drain" in log
    assert "event=outbox_run kind=invoice entry_id=" in log and f"object_id={order['id']} outcome=done" in log


def test_a_browser_on_the_allowed_origin_may_call_it_and_no_other(stack):
    """CORS through gunicorn: the configured front-end's preflight and answers carry the headers a
    browser needs; another origin's get none, so its page can read nothing."""
    from contract_tests.stack import FRONT_END

    def ask(origin: str) -> requests.Response:
        return requests.options(
            stack.url("/api/orders/"),
            headers={
                "Origin": origin,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "authorization, content-type, idempotency-key",
            },
            timeout=10,
        )

    allowed = ask(FRONT_END)
    assert allowed.status_code == 200 and allowed.headers["Access-Control-Allow-Origin"] == FRONT_END
    assert "idempotency-key" in allowed.headers["Access-Control-Allow-Headers"]
    read = requests.get(
        stack.url("/api/products/"), headers={**stack.auth("alice"), "Origin": FRONT_END}, timeout=10
    )
    assert read.headers["Access-Control-Allow-Origin"] == FRONT_END
    assert "ETag" in read.headers["Access-Control-Expose-Headers"]
    for origin in ("https://evil.example", "null"):
        refused = ask(origin)
        assert not [name for name in refused.headers if name.lower().startswith("access-control-")]
