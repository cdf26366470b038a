"""No lost updates on products: writes accept `If-Match` with the product's ETag, a stale tag is a
412 with the current tag, and a stock change without `If-Match` is a 428, so no staff client can
overwrite units sold since it last read the product."""

import pytest

from tests.helpers import assert_problem

pytestmark = [pytest.mark.memcached, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def lamp(make_product):
    return make_product("Lamp", price="25.00", stock=10)


@pytest.fixture
def staff_client(client_for, staff):
    return client_for(staff)


def read(client, product) -> tuple[dict, str]:
    response = client.get(f"/api/products/{product.pk}/")
    assert response.status_code == 200
    return response.json(), response["ETag"]


def put_body(**changes) -> dict:
    return {"name": "Lamp", "description": "", "price": "25.00", "stock": 15, "category": "home", **changes}


def test_a_stale_tag_cannot_overwrite_the_units_sold_since_it_was_read(staff_client, client_for, alice, lamp):
    product, tag = read(staff_client, lamp)
    assert product["stock"] == 10
    order = {"items": [{"product": lamp.pk, "quantity": 3}]}
    sold = client_for(alice).post("/api/orders/", order, format="json")
    assert sold.status_code == 201

    # "10 + 5 = 15", on a copy that is 3 units out of date
    path = f"/api/products/{lamp.pk}/"
    stale = staff_client.put(path, put_body(stock=15), format="json", HTTP_IF_MATCH=tag)

    body = assert_problem(stale, 412, "precondition_failed")
    current, current_tag = read(staff_client, lamp)
    assert current["stock"] == 7, "the 3 units sold were overwritten"
    assert stale["ETag"] == current_tag != tag
    assert "If-Match" in body["detail"]

    # read again, apply the intent to the current stock, send the current tag: accepted
    done = staff_client.put(
        path, put_body(stock=current["stock"] + 5), format="json", HTTP_IF_MATCH=current_tag
    )
    assert done.status_code == 200 and done.json()["stock"] == 12
    assert done["ETag"] == read(staff_client, lamp)[1] != current_tag


def test_a_stock_change_needs_if_match(staff_client, lamp):
    path = f"/api/products/{lamp.pk}/"
    assert_problem(staff_client.patch(path, {"stock": 5}, format="json"), 428, "precondition_required")
    assert_problem(staff_client.put(path, put_body(), format="json"), 428, "precondition_required")
    lamp.refresh_from_db()
    assert lamp.stock == 10
    # other fields may be changed without it (nothing else is written by orders)
    renamed = staff_client.patch(path, {"name": "Desk lamp"}, format="json")
    assert renamed.status_code == 200 and renamed["ETag"] == read(staff_client, lamp)[1]


def test_if_match_compares_strongly_and_accepts_a_list_or_star(staff_client, lamp):
    path = f"/api/products/{lamp.pk}/"
    _, tag = read(staff_client, lamp)
    weak = staff_client.patch(path, {"stock": 11}, format="json", HTTP_IF_MATCH=f"W/{tag}")
    assert_problem(weak, 412, "precondition_failed")  # RFC 9110 section 13.1.1: strong comparison
    listed = staff_client.patch(path, {"stock": 11}, format="json", HTTP_IF_MATCH=f'"other", {tag}')
    assert listed.status_code == 200 and listed.json()["stock"] == 11
    star = staff_client.patch(path, {"stock": 12}, format="json", HTTP_IF_MATCH="*")
    assert star.status_code == 200 and star.json()["stock"] == 12


def test_a_retirement_can_be_conditional(staff_client, lamp, make_product):
    path = f"/api/products/{lamp.pk}/"
    _, tag = read(staff_client, lamp)
    staff_client.patch(path, {"price": "30.00"}, format="json")
    assert_problem(staff_client.delete(path, HTTP_IF_MATCH=tag), 412, "precondition_failed")
    _, tag = read(staff_client, lamp)
    assert staff_client.delete(path, HTTP_IF_MATCH=tag).status_code == 204
    desk = make_product("Desk")
    assert staff_client.delete(f"/api/products/{desk.pk}/").status_code == 204  # without: allowed


def test_a_products_tag_changes_only_with_the_product(staff_client, client_for, alice, lamp, make_product):
    desk = make_product("Desk", price="200.00", stock=5)
    _, tag = read(staff_client, lamp)
    client_for(alice).post("/api/orders/", {"items": [{"product": desk.pk, "quantity": 1}]}, format="json")
    # an order for another product moves the catalog's version, not this product's tag
    again = staff_client.get(f"/api/products/{lamp.pk}/", HTTP_IF_NONE_MATCH=tag)
    assert again.status_code == 304 and again["ETag"] == tag
