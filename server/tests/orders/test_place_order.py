"""POST /api/orders/: atomic placement, stock, snapshots, totals, input errors, idempotency."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from shop.orders.models import IdempotencyKey, Order, OrderItem, OrderStatusChange
from shop.orders.services import purge_idempotency_keys
from tests.helpers import assert_problem, statement
from tests.helpers import post_order as order

pytestmark = pytest.mark.django_db


@pytest.fixture
def keyboard(make_product):
    return make_product("Keyboard", price="89.90", stock=10, category="electronics")


@pytest.fixture
def novel(make_product):
    return make_product("Novel", price="29.90", stock=3, category="books")


def test_it_places_an_order(client_for, alice, keyboard, novel):
    response = order(client_for(alice), (keyboard, 2), (novel, 1))
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "pending"
    assert body["user"] == alice.pk
    assert body["total_price"] == "209.70"
    assert body["report_url"] is None
    assert response["Location"] == f"/api/orders/{body['id']}/"
    assert body["items"] == [
        {
            "product": keyboard.pk,
            "product_name": "Keyboard",
            "quantity": 2,
            "price_at_purchase": "89.90",
            "line_total": "179.80",
        },
        {
            "product": novel.pk,
            "product_name": "Novel",
            "quantity": 1,
            "price_at_purchase": "29.90",
            "line_total": "29.90",
        },
    ]
    assert [(h["from_status"], h["to_status"], h["changed_by"]) for h in body["status_history"]] == [
        (None, "pending", alice.pk)
    ]
    keyboard.refresh_from_db()
    novel.refresh_from_db()
    assert (keyboard.stock, novel.stock) == (8, 2)
    assert Order.objects.get().total_price == Decimal("209.70")


def test_it_merges_lines_for_the_same_product(client_for, alice, keyboard):
    response = order(client_for(alice), (keyboard, 2), (keyboard, 3))
    assert response.status_code == 201
    assert [(i["product"], i["quantity"]) for i in response.json()["items"]] == [(keyboard.pk, 5)]
    keyboard.refresh_from_db()
    assert keyboard.stock == 5


def test_it_rejects_insufficient_stock_and_writes_nothing(client_for, alice, keyboard, novel):
    response = order(client_for(alice), (keyboard, 1), (novel, 5))
    body = assert_problem(response, 400, "insufficient_stock")
    assert body["errors"] == [
        {
            "field": "items[1].quantity",
            "code": "insufficient_stock",
            "message": "Requested 5, only 3 available.",
            "product": novel.pk,
            "requested": 5,
            "available": 3,
        }
    ]
    keyboard.refresh_from_db()
    assert keyboard.stock == 10
    assert not Order.objects.exists() and not OrderItem.objects.exists()


def test_it_rejects_unknown_and_retired_products(client_for, alice, keyboard, make_product):
    retired = make_product("Gone", is_active=False)
    response = order(client_for(alice), (keyboard, 1), (retired, 1))
    body = assert_problem(response, 400, "validation_error")
    assert [e["field"] for e in body["errors"]] == ["items[1].product"]
    response = client_for(alice).post("/api/orders/", {"items": [{"product": 987654, "quantity": 1}]})
    assert assert_problem(response, 400, "validation_error")["errors"][0]["field"] == "items[0].product"
    assert not Order.objects.exists()


@pytest.mark.parametrize(
    ("items", "field"),
    [
        ([], "items"),
        ([{"product": 1, "quantity": 0}], "items[0].quantity"),
        ([{"product": 1, "quantity": -3}], "items[0].quantity"),
        ([{"product": 1, "quantity": 10**9}], "items[0].quantity"),
        ([{"product": 1}], "items[0].quantity"),
        ([{"product": "one", "quantity": 1}], "items[0].product"),
        ([{"product": 1, "quantity": 1}] * 51, "items"),
    ],
)
def test_it_rejects_malformed_items_with_field_paths(client_for, alice, items, field):
    body = assert_problem(client_for(alice).post("/api/orders/", {"items": items}), 400, "validation_error")
    assert field in [e["field"] for e in body["errors"]]


def test_it_rejects_merged_quantities_over_the_limit(client_for, alice, make_product):
    product = make_product(stock=5000)
    response = order(client_for(alice), (product, 600), (product, 600))
    body = assert_problem(response, 400, "validation_error")
    assert body["errors"][0]["field"] == "items[0].quantity"


def test_it_enforces_the_minimum_total(client_for, alice, make_product, settings):
    settings.MIN_ORDER_TOTAL = Decimal("10.00")
    cheap = make_product("Sticker", price="0.99", stock=100)
    assert_problem(order(client_for(alice), (cheap, 10)), 400, "order_total_below_minimum")
    cheap.refresh_from_db()
    assert cheap.stock == 100
    assert order(client_for(alice), (cheap, 11)).status_code == 201


def test_it_keeps_the_price_at_purchase_after_the_product_changes(client_for, alice, staff, keyboard):
    order_id = order(client_for(alice), (keyboard, 1)).json()["id"]
    client_for(staff).patch(f"/api/products/{keyboard.pk}/", {"price": "120.00", "name": "Keyboard v2"})
    client_for(staff).delete(f"/api/products/{keyboard.pk}/")
    body = client_for(alice).get(f"/api/orders/{order_id}/").json()
    assert body["items"][0]["price_at_purchase"] == "89.90"
    assert body["items"][0]["product_name"] == "Keyboard"
    assert body["total_price"] == "89.90"


def test_it_replays_an_order_for_a_repeated_idempotency_key(client_for, alice, keyboard):
    client = client_for(alice)
    first = order(client, (keyboard, 2), HTTP_IDEMPOTENCY_KEY="key-1")
    second = order(client, (keyboard, 2), HTTP_IDEMPOTENCY_KEY="key-1")
    assert first.status_code == second.status_code == 201
    assert first.json()["id"] == second.json()["id"]
    assert second["Idempotent-Replayed"] == "true"
    keyboard.refresh_from_db()
    assert keyboard.stock == 8
    assert Order.objects.count() == 1


def test_it_rejects_a_reused_idempotency_key_with_another_body(client_for, alice, keyboard):
    client = client_for(alice)
    order(client, (keyboard, 2), HTTP_IDEMPOTENCY_KEY="key-1")
    assert_problem(order(client, (keyboard, 3), HTTP_IDEMPOTENCY_KEY="key-1"), 422, "idempotency_key_reused")
    keyboard.refresh_from_db()
    assert keyboard.stock == 8


def test_it_scopes_idempotency_keys_per_user(client_for, alice, bob, keyboard):
    a = order(client_for(alice), (keyboard, 1), HTTP_IDEMPOTENCY_KEY="same")
    b = order(client_for(bob), (keyboard, 1), HTTP_IDEMPOTENCY_KEY="same")
    assert a.json()["id"] != b.json()["id"]
    assert IdempotencyKey.objects.count() == 2


def test_it_forgets_the_key_of_a_failed_order(client_for, alice, novel):
    client = client_for(alice)
    assert_problem(order(client, (novel, 9), HTTP_IDEMPOTENCY_KEY="k"), 400, "insufficient_stock")
    assert not IdempotencyKey.objects.exists()
    assert order(client, (novel, 9 - 6), HTTP_IDEMPOTENCY_KEY="k").status_code == 201


def test_it_rejects_malformed_idempotency_keys(client_for, alice, keyboard):
    body = assert_problem(
        order(client_for(alice), (keyboard, 1), HTTP_IDEMPOTENCY_KEY="spaces are bad"),
        400,
        "validation_error",
    )
    assert body["errors"][0]["field"] == "Idempotency-Key"


def test_it_records_the_creation_in_the_history(client_for, alice, keyboard):
    order(client_for(alice), (keyboard, 1))
    change = OrderStatusChange.objects.get()
    assert (change.from_status, change.to_status, change.changed_by) == (None, "pending", alice)


def test_a_key_is_remembered_for_its_window_only(client_for, alice, keyboard, settings):
    client = client_for(alice)
    first = order(client, (keyboard, 1), HTTP_IDEMPOTENCY_KEY="day-old")
    window = timedelta(seconds=settings.IDEMPOTENCY_KEY_TTL)
    IdempotencyKey.objects.update(created_at=timezone.now() - window + timedelta(seconds=60))
    replay = order(client, (keyboard, 1), HTTP_IDEMPOTENCY_KEY="day-old")
    assert replay.json()["id"] == first.json()["id"] and replay["Idempotent-Replayed"] == "true"
    # past the window the key is forgotten: the same key is a new order, whatever its body
    IdempotencyKey.objects.update(created_at=timezone.now() - window - timedelta(seconds=1))
    fresh = order(client, (keyboard, 2), HTTP_IDEMPOTENCY_KEY="day-old")
    assert fresh.status_code == 201 and fresh.json()["id"] != first.json()["id"]
    assert "Idempotent-Replayed" not in fresh
    assert IdempotencyKey.objects.get(key="day-old").order_id == fresh.json()["id"]


def test_the_purge_forgets_only_expired_keys(client_for, alice, keyboard, settings):
    client = client_for(alice)
    for key in ("old-1", "old-2", "new"):
        order(client, (keyboard, 1), HTTP_IDEMPOTENCY_KEY=key)
    expired = timezone.now() - timedelta(seconds=settings.IDEMPOTENCY_KEY_TTL + 1)
    IdempotencyKey.objects.filter(key__startswith="old").update(created_at=expired)
    assert purge_idempotency_keys(batch=1) == 2
    assert list(IdempotencyKey.objects.values_list("key", flat=True)) == ["new"]
    assert Order.objects.count() == 3  # the orders stay


def test_an_order_is_one_transaction_and_one_publish_with_no_read_back(
    client_for, alice, keyboard, novel, django_capture_on_commit_callbacks, monkeypatch
):
    """What placing an order costs, statement by statement: the products read, the order's rows,
    then the stock taken, product by product in primary-key order, as the last statements (a
    product's row is locked from its decrement to the commit only), and nothing after: the rows
    owed to the worker are stamped as published when they are inserted, and the answer is built
    from the rows just written."""
    from celery.canvas import _chain

    published = []
    monkeypatch.setattr(_chain, "apply_async", lambda self, *args, **kwargs: published.append(self))
    client = client_for(alice)
    client.get("/api/auth/me/")  # the user row is read (and cached) by an earlier request
    with CaptureQueriesContext(connection) as queries, django_capture_on_commit_callbacks(execute=True):
        response = order(client, (keyboard, 2), (novel, 1))
    assert response.status_code == 201
    assert [statement(query["sql"]) for query in queries.captured_queries] == [
        "SAVEPOINT",  # the transaction (a savepoint inside the test's own)
        "SELECT catalog_product",  # names, prices, stock: no lock
        "INSERT orders_orderaddress",  # the copy of its shipping address (and billing, in one)
        "INSERT orders_order",
        "INSERT orders_orderitem",
        "INSERT orders_orderstatuschange",
        "INSERT outbox_entry",  # the invoice owed, and the confirmation e-mail after it, in one
        "UPDATE catalog_product",  # stock = stock - 2 WHERE stock >= 2: the first lock, the keyboard's
        "UPDATE catalog_product",  # then the novel's (primary-key order)
        "RELEASE",
    ]
    decrements = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("UPDATE")]
    assert [
        f'"id" = {product.pk}' in sql for sql, product in zip(decrements, (keyboard, novel), strict=True)
    ] == [
        True,
        True,
    ]
    assert all('"stock" >= ' in sql for sql in decrements)
    assert len(published) == 1  # invoice → e-mail, one chain
    assert client.get(response["Location"]).json() == response.json()


def test_placing_an_order_invalidates_no_order_but_changing_it_does(
    client_for, alice, keyboard, django_capture_on_commit_callbacks, monkeypatch
):
    """Nothing of a new order can be cached yet: its rows bump no version; a change to it does."""
    from celery.canvas import _chain

    from shop.orders import signals

    bumped = []
    monkeypatch.setattr(signals, "invalidate_order_detail", bumped.append)
    monkeypatch.setattr(_chain, "apply_async", lambda self, *args, **kwargs: None)  # no worker here
    client = client_for(alice)
    with django_capture_on_commit_callbacks(execute=True):
        placed = order(client, (keyboard, 1))
    assert placed.status_code == 201 and bumped == []
    with django_capture_on_commit_callbacks(execute=True):
        client.patch(placed["Location"], {"status": "cancelled"}, format="json")
    assert set(bumped) == {placed.json()["id"]}
