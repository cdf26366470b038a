"""Graceful shutdown on the live stack: SIGTERM to gunicorn while 16 clients place orders, and
SIGTERM to the worker in the middle of a task. Nothing half-written, nothing lost, nothing twice."""

import os
import signal
import threading
import time
from collections import Counter

import pytest
import requests

from contract_tests import services
from contract_tests.conftest import require_services
from contract_tests.stack import live_stack, wait_ready
from tests.helpers import wait_for

CLIENTS = 16


@pytest.fixture(scope="module")
def stack():
    require_services()
    smtp = services.SlowSMTP()
    env = {"EMAIL_URL": f"smtp://127.0.0.1:{smtp.port}", "WEB_WORKERS": "2"}
    try:
        with live_stack(extra_env=env) as running:
            running.smtp = smtp
            yield running
    finally:
        smtp.shutdown()


def confirmations(stack, order_id: int) -> int:
    return sum(subject.endswith(f"order #{order_id} confirmed") for subject in stack.smtp.accepted)


def test_sigterm_to_the_web_under_16_clients_finishes_what_it_accepted(stack):
    product = stack.create_product(stock=100_000)
    outcomes: Counter = Counter()
    accepted: list[int] = []
    lost_answers: list[str] = []
    stop = threading.Event()
    lock = threading.Lock()

    def client(user: str) -> None:
        headers = {**stack.auth(user), "Connection": "close"}  # a new connection per request
        while not stop.is_set():
            try:
                response = requests.post(
                    stack.url("/api/orders/"),
                    json={"items": [{"product": product, "quantity": 1}]},
                    headers=headers,
                    timeout=30,
                )
            except requests.ConnectionError as exc:
                refused = "refused" in str(exc).lower()
                with lock:
                    outcomes["refused" if refused else "lost"] += 1
                    if not refused:
                        lost_answers.append(str(exc)[:200])
                time.sleep(0.05)
                continue
            with lock:
                outcomes[response.status_code] += 1
                if response.status_code == 201:
                    accepted.append(response.json()["id"])

    threads = [threading.Thread(target=client, args=(("alice", "bob")[i % 2],)) for i in range(CLIENTS)]
    for thread in threads:
        thread.start()
    wait_for(lambda: len(accepted) >= 40, timeout=60, what="orders flowing")
    web = stack.processes["web"]
    os.kill(web.pid, signal.SIGTERM)  # the gunicorn master: graceful stop
    web.wait(timeout=40)
    wait_for(lambda: outcomes["refused"] >= CLIENTS, timeout=20, what="new connections refused")
    stop.set()
    for thread in threads:
        thread.join(timeout=60)
    stopped_at = len(accepted)
    stack.start("web")
    wait_ready(stack, "web")

    assert set(outcomes) <= {201, "refused", "lost"}, outcomes  # no 5xx, no other answer
    in_database = {
        order_id for (order_id,) in stack.query("SELECT id FROM orders_order WHERE id = ANY(%s)", accepted)
    }
    assert in_database == set(accepted)
    # every order in the database was answered: no request was cut off after the app took it
    placed = stack.query(
        "SELECT count(*), coalesce(sum(i.quantity), 0) FROM orders_order o JOIN orders_orderitem i"
        " ON i.order_id = o.id WHERE i.product_id = %s",
        product,
    )[0]
    assert placed[0] == stopped_at, (placed, stopped_at, outcomes, lost_answers)
    stock = requests.get(stack.url(f"/api/products/{product}/"), headers=stack.auth("alice"), timeout=10)
    assert stock.json()["stock"] == 100_000 - placed[1]
    # ... and the worker makes every accepted order's PDF and e-mail, once
    wait_for(
        lambda: all(confirmations(stack, order_id) == 1 for order_id in accepted),
        timeout=120,
        what="every accepted order's e-mail",
    )
    ready = stack.query(
        "SELECT count(*) FROM outbox_entry e JOIN invoices_invoice i ON i.order_id = e.object_id"
        " WHERE e.kind = 'invoice' AND e.status = 'done' AND e.object_id = ANY(%s)",
        accepted,
    )[0][0]
    assert ready == len(accepted)
    print(f"web SIGTERM under {CLIENTS} clients: {dict(outcomes)}; lost answers: {lost_answers[:3]}")


def test_sigterm_to_the_worker_mid_task_finishes_the_task_once(stack):
    product = stack.create_product(stock=10)
    stack.smtp.delay = 3  # the e-mail task will be inside the SMTP conversation
    order_id = requests.post(
        stack.url("/api/orders/"),
        json={"items": [{"product": product, "quantity": 1}]},
        headers=stack.auth("alice"),
        timeout=30,
    ).json()["id"]
    wait_for(
        lambda: any(s.endswith(f"order #{order_id} confirmed") for s in stack.smtp.receiving),
        timeout=60,
        what="the e-mail task to be under way",
    )
    worker = stack.processes["worker"]
    os.kill(worker.pid, signal.SIGTERM)  # warm shutdown: finish the running task, take no new one
    # an order placed while the worker is stopping is not lost either
    later = requests.post(
        stack.url("/api/orders/"),
        json={"items": [{"product": product, "quantity": 1}]},
        headers=stack.auth("bob"),
        timeout=30,
    ).json()["id"]
    worker.wait(timeout=30)
    assert confirmations(stack, order_id) == 1  # finished before the worker exited
    stack.smtp.delay = 0
    stack.start("worker")
    wait_for(lambda: confirmations(stack, later) == 1, timeout=60, what="the later order's e-mail")
    time.sleep(2)
    assert confirmations(stack, order_id) == 1 and confirmations(stack, later) == 1
    rows = stack.query(
        "SELECT object_id, status, attempts FROM outbox_entry"
        " WHERE kind = 'order_confirmation' AND object_id IN (%s, %s) ORDER BY object_id",
        order_id,
        later,
    )
    assert rows == [(order_id, "done", 1), (later, "done", 1)]
    log = stack.log("worker")
    assert "Warm shutdown" in log
