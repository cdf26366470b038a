"""Orders the contract allows but the shop cannot take: a total beyond what the order can hold,
and more orders per minute than one user may place. Refused with a problem, nothing written."""

import pytest

from shop.orders.models import Order
from tests.helpers import assert_problem
from tests.helpers import post_order as order

pytestmark = pytest.mark.django_db


def test_it_refuses_a_total_above_what_an_order_holds_and_keeps_the_stock(client_for, alice, make_product):
    priciest = make_product("Yacht", price="99999999.99", stock=5000)
    body = assert_problem(order(client_for(alice), (priciest, 1000)), 400, "order_total_above_maximum")
    assert "99999999990.00" in body["detail"]
    priciest.refresh_from_db()
    assert priciest.stock == 5000
    assert not Order.objects.exists()


def test_it_takes_the_largest_total_an_order_holds(client_for, alice, make_product):
    product = make_product("Big ticket", price="9999999.99", stock=1000)
    response = order(client_for(alice), (product, 1000))
    assert response.status_code == 201, response.content
    assert response.json()["total_price"] == "9999999990.00"


def test_it_throttles_order_creation_per_user(client_for, alice, bob, make_product, settings):
    widget = make_product(stock=1000)
    alices, bobs = client_for(alice), client_for(bob)
    statuses = [order(alices, (widget, 1)).status_code for _ in range(31)]
    assert statuses == [201] * 30 + [429]
    response = order(alices, (widget, 1))
    assert_problem(response, 429, "throttled")
    assert int(response["Retry-After"]) > 0
    assert order(bobs, (widget, 1)).status_code == 201  # per user, not global
    assert alices.get("/api/orders/").status_code == 200  # reading is not limited
    widget.refresh_from_db()
    assert widget.stock == 1000 - 31
    assert Order.objects.filter(user=alice).count() == 30
