"""PostgreSQL stopped under the live stack (a fast shutdown of a cluster of the stack's own, 5 s
down, started again), as `pg_ctlcluster ... stop -m fast` would: no 500 at any time; writes and
uncached reads answer 503 with `Retry-After`; cached reads and their 304s keep answering;
`/readyz` says not ready; the first request once PostgreSQL is back succeeds; work the worker met
the outage with ends done without a requeue; one log line each way, no traceback."""

import time

import psycopg
import pytest
import requests

from contract_tests import services
from contract_tests.conftest import require_services
from contract_tests.stack import live_stack
from tests.helpers import ADDRESS, PROBLEM, assert_problem, wait_for

DOWN_SECONDS = 5


@pytest.fixture(scope="module")
def outage():
    require_services()
    postgres = services.PostgreSQL()
    postgres.start()
    env = {
        "DATABASE_RETRY_MAX_DELAY": "1",  # the worker tries again every second while it is down
        "DATABASE_RETRY_AFTER": "2",
        "READYZ_CACHE_SECONDS": "0",
        # a claim's lease: an attempt the outage interrupted is taken again after it
        "CELERY_TASK_TIME_LIMIT": "8",
    }
    try:
        with live_stack(extra_env=env, database_admin_url=f"{postgres.url}/postgres") as stack:
            stack.postgres = postgres
            yield stack
    finally:
        postgres.remove()


def accepting(url: str) -> bool:
    try:
        with psycopg.connect(url, connect_timeout=1):
            return True
    except psycopg.Error:
        return False


def shipping_notice(stack, order_id: int) -> tuple[str, int]:
    status, _, requeues = stack.work("shipping_notice", order_id)
    return status, requeues


def place(stack, product_id: int, quantity: int = 1) -> requests.Response:
    return requests.post(
        stack.url("/api/orders/"),
        json={"items": [{"product": product_id, "quantity": quantity}], "shipping_address": ADDRESS},
        headers=stack.auth("alice"),
        timeout=10,
    )


def test_a_postgresql_restart_is_503s_cached_reads_and_no_lost_work(outage):
    alice, admin = outage.auth("alice"), outage.auth("admin")
    product_id = outage.create_product(stock=100)
    read_order, shipped_order = place(outage, product_id).json()["id"], place(outage, product_id).json()["id"]
    cached = ["/api/products/", f"/api/products/{product_id}/", f"/api/orders/{read_order}/", "/api/auth/me/"]
    time.sleep(1.5)  # past PRODUCT_LIST_STOCK_LAG: the list is built after the last stock move
    tags = {}
    for path in cached:  # warmed in both web processes (requests alternate between them)
        for _ in range(4):
            tags[path] = requests.get(outage.url(path), headers=alice, timeout=10).headers.get("ETag")
    # The partner holds its answer while PostgreSQL goes away: the worker meets the outage with
    # the notice's only attempt in flight (it used to end `failed`, the partner never told).
    outage.partner.script, outage.partner.hang_seconds = ["hang"], 3.0
    calls_before = len(outage.partner.calls)
    for status in ("processing", "shipped"):
        changed = requests.patch(
            outage.url(f"/api/orders/{shipped_order}/"), json={"status": status}, headers=admin, timeout=10
        )
        assert changed.status_code == 200, changed.text
    wait_for(lambda: len(outage.partner.calls) > calls_before, timeout=30, what="the partner's call")

    outage.postgres.stop()
    stopped = time.monotonic()
    answers: dict[str, list[int]] = {"cached": [], "write": [], "uncached": [], "readyz": []}
    while time.monotonic() - stopped < DOWN_SECONDS:
        for path in cached:
            answers["cached"].append(requests.get(outage.url(path), headers=alice, timeout=10).status_code)
            if tags[path]:
                conditional = {**alice, "If-None-Match": tags[path]}
                answers["cached"].append(
                    requests.get(outage.url(path), headers=conditional, timeout=10).status_code
                )
        write = place(outage, product_id)
        answers["write"].append(write.status_code)
        assert write.headers["Content-Type"] == PROBLEM and write.headers["Retry-After"] == "2"
        uncached = requests.get(outage.url("/api/admin/orders/"), headers=admin, timeout=10)
        answers["uncached"].append(uncached.status_code)
        answers["readyz"].append(requests.get(outage.url("/readyz"), timeout=10).status_code)
        time.sleep(0.2)
    assert set(answers["cached"]) <= {200, 304} and len(answers["cached"]) >= 30, answers["cached"]
    assert set(answers["write"]) == {503}
    assert set(answers["uncached"]) == {503}
    assert set(answers["readyz"]) == {503}

    outage.postgres.start()
    wait_for(lambda: accepting(outage.env["DATABASE_URL"]), timeout=30, what="PostgreSQL accepting again")
    for _ in range(4):  # each web process: its first request on the new server succeeds
        response = requests.get(outage.url("/api/admin/orders/"), headers=admin, timeout=10)
        assert response.status_code == 200, response.text
    assert place(outage, product_id).status_code == 201

    wait_for(
        lambda: shipping_notice(outage, shipped_order) == ("done", 0),
        timeout=60,
        what="the notice sent, without a requeue",
    )
    calls = [c for c in outage.partner.calls[calls_before:] if c["json"]["order_id"] == shipped_order]
    assert {c["headers"]["Idempotency-Key"] for c in calls} == {f"order-{shipped_order}-shipped"}
    web = outage.log("web")
    assert "Traceback" not in web
    assert web.count("event=database_unavailable") <= 2  # once per web process at most
    assert "event=database_available" in web
    assert " status=500 " not in web


def test_a_request_queued_behind_a_held_lock_is_a_503_while_cached_reads_answer(outage):
    """The products locked as a migration would lock them (`ACCESS EXCLUSIVE`, 3 s): an order
    waits DATABASE_LOCK_TIMEOUT (the web process's bound, 2 s) and answers 503 with Retry-After
    instead of holding a thread until the web's timeout; a cached product answers meanwhile."""
    product_id = outage.create_product(stock=10)
    cached = outage.url(f"/api/products/{product_id}/")
    for _ in range(4):  # in both web processes
        requests.get(cached, headers=outage.auth("alice"), timeout=10).raise_for_status()
    with psycopg.connect(outage.env["DATABASE_URL"]) as holder:
        holder.execute("LOCK TABLE catalog_product IN ACCESS EXCLUSIVE MODE")
        refused = place(outage, product_id)
        read = requests.get(cached, headers=outage.auth("alice"), timeout=10)
        time.sleep(1)  # held 3 s in all, past the bound
    assert "busy (lock timeout)" in assert_problem(refused, 503, "service_unavailable")["detail"]
    assert refused.headers["Retry-After"] == "2"
    assert read.status_code == 200
    assert place(outage, product_id).status_code == 201  # the lock gone, nothing left behind
