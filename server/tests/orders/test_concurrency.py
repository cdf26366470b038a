"""Races on real PostgreSQL row locks, with real threads and one connection per thread."""

from collections import Counter

import pytest

from shop.catalog.models import Product
from shop.core.errors import DomainError
from shop.orders.models import IdempotencyKey, Order, OrderItem
from shop.orders.services import change_order_status, place_order
from tests.helpers import other_session, race

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def outcome(result: object) -> str:
    if isinstance(result, DomainError):
        return str(result.code)
    if isinstance(result, Exception):
        return f"unexpected {type(result).__name__}: {result}"
    return "placed"


def test_24_buyers_race_for_the_last_10_units(make_user, make_product):
    product = make_product("Last units", price="5.00", stock=10)
    buyers = [make_user(f"buyer{i}") for i in range(24)]
    results = race(
        [lambda u=u: place_order(user=u, items=[{"product": product.pk, "quantity": 1}]) for u in buyers]
    )
    assert Counter(map(outcome, results)) == {"placed": 10, "insufficient_stock": 14}
    product.refresh_from_db()
    assert product.stock == 0
    assert OrderItem.objects.filter(product=product).count() == 10


@pytest.mark.parametrize(
    ("meanwhile", "code"),
    [
        ("UPDATE catalog_product SET stock = 1 WHERE id = %s", "insufficient_stock"),
        ("UPDATE catalog_product SET is_active = false WHERE id = %s", "validation_error"),
    ],
    ids=["sold-out", "retired"],
)
def test_stock_gone_between_the_read_and_the_decrement_refuses_the_whole_order(
    make_user, make_product, monkeypatch, meanwhile, code
):
    """The stock is read without a lock and taken last: another transaction that sells the units
    (or retires the product) in between, and commits, wins; this order is refused and nothing of
    it stays (no order, line, status change or outbox entry)."""
    from shop.orders import services
    from shop.outbox.models import Entry

    product = make_product("Contested", price="5.00", stock=3)
    buyer = make_user("late")
    checked = services.validate_order_total

    def and_meanwhile(total):
        checked(total)
        with other_session() as other:  # another session, which commits at once: this one holds no lock yet
            other.execute("SET LOCAL lock_timeout = '2s'")  # were the row locked, fail instead of hanging
            other.execute(meanwhile, (product.pk,))

    monkeypatch.setattr(services, "validate_order_total", and_meanwhile)
    with pytest.raises(DomainError) as refused:
        place_order(user=buyer, items=[{"product": product.pk, "quantity": 2}])
    assert str(refused.value.code) == code
    assert (Order.objects.count(), OrderItem.objects.count(), Entry.objects.count()) == (0, 0, 0)
    product.refresh_from_db()
    assert product.stock in (1, 3)  # as the other session left it: nothing taken


def test_units_back_between_a_failed_decrement_and_its_reason_are_taken_not_skipped(
    make_user, make_product, monkeypatch
):
    """The decrement finds too few units; before the order looks at why, a cancel puts units back
    and commits. The line is taken again, not placed without its stock (the stock and the order
    lines always agree)."""
    from shop.orders import services

    product = make_product("Returned", price="5.00", stock=1)
    buyer = make_user("patient")
    looked = services.stock_now

    def after_a_restock(product_id):
        with other_session() as other:  # the cancel, committed between the failed decrement and this look
            other.execute("SET LOCAL lock_timeout = '2s'")
            other.execute("UPDATE catalog_product SET stock = stock + 4 WHERE id = %s", (product_id,))
        monkeypatch.setattr(services, "stock_now", looked)  # once
        return looked(product_id)

    monkeypatch.setattr(services, "stock_now", after_a_restock)
    monkeypatch.setattr(services, "_refuse_short", lambda lines, stock: None)  # the up-front check passes
    _, created = place_order(user=buyer, items=[{"product": product.pk, "quantity": 2}])
    assert created
    product.refresh_from_db()
    assert product.stock == 1 + 4 - 2  # taken, from the units that came back
    assert OrderItem.objects.filter(product=product).count() == 1


def test_orders_over_the_same_products_in_opposite_order_do_not_deadlock(make_user, make_product):
    a = make_product("A", stock=1000)
    b = make_product("B", stock=1000)
    c = make_product("C", stock=1000)
    user = make_user("shopper")
    forward = [
        {"product": a.pk, "quantity": 1},
        {"product": b.pk, "quantity": 1},
        {"product": c.pk, "quantity": 1},
    ]
    backward = list(reversed(forward))
    results = race(
        [
            lambda items=(forward if i % 2 else backward): place_order(user=user, items=items)
            for i in range(16)
        ]
    )
    assert Counter(map(outcome, results)) == {"placed": 16}
    assert {p.stock for p in Product.objects.all()} == {1000 - 16}


def test_two_concurrent_cancels_restock_once(make_user, make_product):
    product = make_product("Restock me", stock=10)
    owner = make_user("owner")
    staff = make_user("boss", is_staff=True)
    order, _ = place_order(user=owner, items=[{"product": product.pk, "quantity": 4}])
    results = race(
        [
            lambda: change_order_status(order_id=order.pk, actor=owner, status="cancelled"),
            lambda: change_order_status(order_id=order.pk, actor=staff, status="cancelled"),
        ]
    )
    # the second waits for the first's lock, then finds the order cancelled: a retry, answered as done
    assert Counter(map(outcome, results)) == {"placed": 2}
    product.refresh_from_db()
    assert product.stock == 10
    assert order.status_changes.filter(to_status="cancelled").count() == 1


def test_concurrent_requests_with_one_idempotency_key_create_one_order(make_user, make_product):
    product = make_product("Once", stock=100)
    user = make_user("retrier")
    items = [{"product": product.pk, "quantity": 3}]
    results = race(
        [lambda: place_order(user=user, items=items, idempotency_key="retry-42") for _ in range(8)]
    )
    orders = {order.pk for order, _created in results}
    assert len(orders) == 1
    assert sorted(created for _order, created in results) == [False] * 7 + [True]
    assert Order.objects.count() == 1 and IdempotencyKey.objects.count() == 1
    product.refresh_from_db()
    assert product.stock == 97


def test_a_stock_edit_never_overwrites_a_concurrent_decrement(make_user, make_product, client_for):
    """The product update takes the same row lock as placing an order."""
    from shop.catalog.services import update_product

    product = make_product("Edited", stock=50)
    user = make_user("quick")
    results = race(
        [lambda: place_order(user=user, items=[{"product": product.pk, "quantity": 1}]) for _ in range(10)]
        + [lambda: update_product(product_id=product.pk, data={"name": "Edited twice"})]
    )
    assert all(not isinstance(r, Exception) for r in results)
    product.refresh_from_db()
    assert (product.stock, product.name) == (40, "Edited twice")
