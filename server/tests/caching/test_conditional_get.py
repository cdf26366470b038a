"""Conditional GETs: a strong ETag from the cached body's version; If-None-Match with the current
tag answers 304 without a body and without touching the database."""

import pytest
from django.core.cache import cache

from shop.catalog.cache import _list_key
from shop.orders.services import change_order_status

pytestmark = [pytest.mark.memcached, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def lamp(make_product):
    return make_product("Lamp", price="25.00", stock=10)


def etag_of(response) -> str:
    assert response.status_code == 200, response.content
    tag = response["ETag"]
    assert tag.startswith('"') and tag.endswith('"') and len(tag) <= 64
    return tag


def assert_not_modified(response, etag: str) -> None:
    assert response.status_code == 304
    assert response.content == b""
    assert response["ETag"] == etag
    assert "private" in response["Cache-Control"] and "Authorization" in response["Vary"]


@pytest.mark.parametrize("path", ["/api/products/", "/api/products/{lamp}/"])
def test_an_unchanged_product_read_is_a_304_without_a_query(
    alice_client, lamp, path, django_assert_num_queries
):
    path = path.format(lamp=lamp.pk)
    etag = etag_of(alice_client.get(path))
    with django_assert_num_queries(0):
        assert_not_modified(alice_client.get(path, HTTP_IF_NONE_MATCH=etag), etag)
        # a weak copy of the tag, a list of tags, and * match too (RFC 9110 section 13.1.2)
        assert_not_modified(alice_client.get(path, HTTP_IF_NONE_MATCH=f'"other", W/{etag}'), etag)
        assert_not_modified(alice_client.get(path, HTTP_IF_NONE_MATCH="*"), etag)
    assert alice_client.get(path, HTTP_IF_NONE_MATCH='"other"').status_code == 200


def test_the_tag_names_the_query_and_the_product(alice_client, lamp, make_product):
    desk = make_product("Desk", price="200.00", stock=1)
    tags = {
        etag_of(alice_client.get(path))
        for path in (
            "/api/products/",
            "/api/products/?category=home",
            f"/api/products/{lamp.pk}/",
            f"/api/products/{desk.pk}/",
        )
    }
    assert len(tags) == 4
    listed = alice_client.get("/api/products/?category=home")
    assert alice_client.get("/api/products/", HTTP_IF_NONE_MATCH=listed["ETag"]).status_code == 200


def test_a_price_change_or_an_order_changes_the_tag(alice_client, client_for, staff, lamp):
    path = f"/api/products/{lamp.pk}/"
    first = etag_of(alice_client.get(path))
    client_for(staff).patch(path, {"price": "26.00"})
    changed = alice_client.get(path, HTTP_IF_NONE_MATCH=first)
    second = etag_of(changed)
    assert second != first and changed.json()["price"] == "26.00"
    alice_client.post("/api/orders/", {"items": [{"product": lamp.pk, "quantity": 1}]}, format="json")
    after_order = alice_client.get(path, HTTP_IF_NONE_MATCH=second)
    assert etag_of(after_order) != second and after_order.json()["stock"] == 9


def test_a_current_tag_is_a_304_even_when_the_body_was_evicted(alice_client, lamp, django_assert_num_queries):
    etag = etag_of(alice_client.get("/api/products/"))
    cache.delete(_list_key(()))  # the body only; the version stays
    with django_assert_num_queries(0):
        assert_not_modified(alice_client.get("/api/products/", HTTP_IF_NONE_MATCH=etag), etag)


def test_an_order_read_is_a_304_for_its_owner_only(
    client_for, alice, bob, staff, place, lamp, django_assert_num_queries
):
    order = place(alice, (lamp, 1))
    path = f"/api/orders/{order.pk}/"
    owner = client_for(alice)
    etag = etag_of(owner.get(path))
    with django_assert_num_queries(0):
        assert_not_modified(owner.get(path, HTTP_IF_NONE_MATCH=etag), etag)
    # another customer holding the tag learns nothing: the same 404 as for any order not theirs
    assert client_for(bob).get(path, HTTP_IF_NONE_MATCH=etag).status_code == 404
    assert_not_modified(client_for(staff).get(path, HTTP_IF_NONE_MATCH=etag), etag)
    change_order_status(order_id=order.pk, actor=staff, status="processing")
    moved = owner.get(path, HTTP_IF_NONE_MATCH=etag)
    assert etag_of(moved) != etag and moved.json()["status"] == "processing"
