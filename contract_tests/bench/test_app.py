"""The bench app (contract_tests/bench/app): the ceilings, the plain DRF comparison, the loader."""

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from contract_tests.bench.app.management.commands.seed_bench import Command as SeedBench
from shop.catalog.models import Product
from shop.orders.models import Order


@pytest.fixture
def ceiling_routed(settings):
    settings.ROOT_URLCONF = "contract_tests.bench.app.urls"


def assert_owes_the_same_work(order, lamp, published) -> None:
    """As ours: the invoice and the e-mail owed, one message published, the stock taken."""
    from shop.outbox.models import Entry

    kinds = set(Entry.objects.filter(object_id=order.pk).values_list("kind", flat=True))
    assert kinds == {"invoice", "order_confirmation"} and len(published) == 1
    lamp.refresh_from_db()
    assert lamp.stock == 0


def seed_bench(**options) -> None:
    call_command(SeedBench(), **options)  # the bench app is not installed in the product's settings


def test_the_ceiling_answers_a_cached_body_without_auth(ceiling_routed, anon):
    first = anon.get("/bench/ceiling")
    second = anon.get("/bench/ceiling")
    assert first.status_code == second.status_code == 200
    assert second.content == b'{"status": "ok"}'


def test_the_product_routes_none_of_it(anon):
    for path in ("/bench/ceiling", "/bench/write-ceiling", "/bench/plain/orders/", "/bench/plain/products/"):
        assert anon.get(path).status_code == 404


@pytest.mark.django_db
def test_it_loads_products_and_orders(alice):
    seed_bench(products=250, orders=5)
    assert Product.objects.count() == 250
    assert Order.objects.filter(user=alice).count() == 5


@pytest.mark.django_db
def test_the_write_ceiling_writes_what_an_order_writes_and_publishes_once(
    ceiling_routed, anon, alice, make_product, django_capture_on_commit_callbacks, monkeypatch
):
    from celery.canvas import _chain

    published = []
    monkeypatch.setattr(_chain, "apply_async", lambda self, *args, **kwargs: published.append(self))
    lamp = make_product("Lamp", stock=2)
    with django_capture_on_commit_callbacks(execute=True):
        placed = anon.post(
            "/bench/write-ceiling", {"items": [{"product": lamp.pk, "quantity": 2}]}, format="json"
        )
    assert placed.status_code == 201
    order = Order.objects.get(pk=placed.json()["id"])
    assert (order.user, order.items.get().quantity, order.status_changes.count()) == (alice, 2, 1)
    assert_owes_the_same_work(order, lamp, published)
    short = anon.post("/bench/write-ceiling", {"items": [{"product": lamp.pk, "quantity": 1}]}, format="json")
    assert short.status_code == 409


def test_the_mixed_rows_staleness_is_the_age_of_the_oldest_order_a_page_missed():
    from contract_tests.bench.run import _staleness

    ordered = [(7, 100.0, 1), (7, 101.0, 1), (8, 101.5, 2), (7, 102.0, 1)]  # (product, created, quantity)
    stock_now = {7: 7, 8: 8}  # 10 each before
    # at 101.8: product 7 had 8 left, product 8 had 8
    assert _staleness(101.8, {7: 8, 8: 8}, stock_now, ordered) == 0
    assert _staleness(101.8, {7: 9, 8: 8}, stock_now, ordered) == pytest.approx(0.8)  # missed 101.0
    assert _staleness(101.8, {7: 10, 8: 10}, stock_now, ordered) == pytest.approx(1.8)  # missed 100.0
    assert _staleness(101.8, {7: 8, 8: 10}, stock_now, ordered) == pytest.approx(0.3)  # missed 101.5


def test_the_worker_runs_in_a_session_weighted_twice_the_webs():
    import os
    import subprocess
    from pathlib import Path
    from types import SimpleNamespace

    from contract_tests.bench.run import weigh_worker

    def session() -> subprocess.Popen:  # as the stack starts each process
        return subprocess.Popen(["sleep", "30"], start_new_session=True)

    worker, web = session(), session()
    try:
        said = weigh_worker(SimpleNamespace(processes={"worker": worker}))
        if os.geteuid() != 0:  # only root may weigh a session above the default
            assert said.startswith("not set")
            return
        assert said.endswith("nice -3")  # weight 1991: twice the default 1024
        assert Path(f"/proc/{web.pid}/autogroup").read_text().strip().endswith("nice 0")
    finally:
        worker.kill(), web.kill()
        worker.wait(), web.wait()


@pytest.mark.django_db
def test_the_plain_drf_comparison_writes_the_same_rows_and_owes_the_same_work(
    ceiling_routed, client_for, alice, make_product, django_capture_on_commit_callbacks, monkeypatch
):
    from celery.canvas import _chain

    published = []
    monkeypatch.setattr(_chain, "apply_async", lambda self, *args, **kwargs: published.append(self))
    lamp = make_product("Lamp", price="12.50", stock=2)
    client = client_for(alice)
    with django_capture_on_commit_callbacks(execute=True):
        placed = client.post(
            "/bench/plain/orders/", {"items": [{"product": lamp.pk, "quantity": 2}]}, format="json"
        )
    assert placed.status_code == 201, placed.content
    order = Order.objects.get(pk=placed.json()["id"])
    assert (order.user, order.total_price, order.items.get().quantity, order.status_changes.count()) == (
        alice,
        25,
        2,
        1,
    )
    assert_owes_the_same_work(order, lamp, published)
    short = client.post(
        "/bench/plain/orders/", {"items": [{"product": lamp.pk, "quantity": 1}]}, format="json"
    )
    assert short.status_code == 400 and Order.objects.count() == 1
    assert client.get("/bench/plain/products/").json()["count"] == 1
    assert APIClient().get("/bench/plain/products/").status_code == 401


@pytest.mark.django_db
def test_it_fills_the_order_table_in_bulk_up_to_a_count(alice, bob):
    from shop.orders.models import OrderItem

    seed_bench(products=3, orders=2, bulk_orders=40)
    assert Order.objects.count() == 40 and OrderItem.objects.count() == 2 * 3 + 38  # 3 lines per placed order
    assert set(Order.objects.values_list("user__username", flat=True)) == {"alice", "bob"}
    assert set(Order.objects.values_list("status", flat=True)) == {
        "pending",
        "processing",
        "shipped",
        "delivered",
        "cancelled",
    }
    seed_bench(products=3, orders=0, bulk_orders=40)
    assert Order.objects.count() == 40


def test_the_bench_stack_answers_as_the_product_does(ceiling_routed, anon, db):
    """Its routes are the product's, in the product's order, with the product's error handlers."""
    from tests.helpers import assert_problem

    assert_problem(anon.get("/no-such-page", HTTP_X_REQUEST_ID="bench-404"), 404, "not_found")
    assert_problem(anon.get("/api/products/"), 401, "not_authenticated")
