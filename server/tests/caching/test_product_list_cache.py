"""The product list cache on a real Memcached: hits, misses, invalidation after commit, TTL,
and failing open."""

import logging
import time

import pytest
from django.core.cache import cache

from shop.catalog.cache import _list_key
from shop.core.cache import hashed_key
from shop.core.etags import entity_tag
from shop.orders.services import change_order_status, place_order

pytestmark = [pytest.mark.memcached, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def client(client_for, alice):
    return client_for(alice)


def stock_in_list(client, product) -> int:
    response = client.get("/api/products/")
    assert response.status_code == 200
    return next(p["stock"] for p in response.json()["results"] if p["id"] == product.pk)


def test_first_read_misses_second_hits_with_the_same_body(client, lamp):
    first = client.get("/api/products/?category=home")
    second = client.get("/api/products/?category=home")
    assert (first["X-Cache"], second["X-Cache"]) == ("MISS", "HIT")
    assert first.content == second.content
    for response in (first, second):
        assert "private" in response["Cache-Control"]
        assert "Authorization" in response["Vary"]
    validators = ("ETag", "Cache-Control", "Vary", "Content-Type")
    assert [first[name] for name in validators] == [second[name] for name in validators]


def test_the_entry_holds_the_tag_with_the_body_under_a_key_the_earlier_bodies_never_used(client, lamp):
    """A hit hashes nothing: the tag is stored with the body. Entries of the earlier shape (the
    body alone, `catalog:products:list`) are never read, so a rolling deploy serves neither
    shape to the other code."""
    miss = client.get("/api/products/")
    versions, _, payload = cache.get(_list_key(()))
    assert payload == (miss["ETag"], miss.content)
    assert miss["ETag"] == entity_tag(_list_key(()), versions)
    cache.set(hashed_key("catalog:products:list", ""), (versions, time.time(), b"{}"))
    assert _list_key(()) != hashed_key("catalog:products:list", "")
    hit = client.get("/api/products/")
    assert (hit["X-Cache"], hit["ETag"], hit.content) == ("HIT", miss["ETag"], miss.content)


def test_the_key_is_the_normalized_query(client, lamp):
    assert client.get("/api/products/?category=home&page_size=5")["X-Cache"] == "MISS"
    assert client.get("/api/products/?page_size=5&category=home")["X-Cache"] == "HIT"
    assert client.get("/api/products/?page_size=6&category=home")["X-Cache"] == "MISS"
    assert client.get("/api/products/?category=books")["X-Cache"] == "MISS"


def test_the_key_is_the_values_the_contract_accepted_in_one_spelling(client, lamp):
    assert client.get("/api/products/?page_size=5&min_price=5")["X-Cache"] == "MISS"
    assert client.get("/api/products/?page_size=05&min_price=5.0")["X-Cache"] == "HIT"
    assert client.get("/api/products/?min_price=5.00&page_size=5")["X-Cache"] == "HIT"


def test_parameters_the_contract_does_not_name_make_no_entry_of_their_own(client, lamp):
    assert client.get("/api/products/?category=home")["X-Cache"] == "MISS"
    for buster in ("zz=1", "zz=2", "_=1733390000", "callback=x"):
        response = client.get(f"/api/products/?category=home&{buster}")
        assert (response.status_code, response["X-Cache"]) == (200, "HIT")


def test_no_query_and_a_query_of_unknown_parameters_share_one_page(client, lamp):
    """The first is judged without parsing a query at all, the others parse one: the same key."""
    assert client.get("/api/products/")["X-Cache"] == "MISS"
    for query in ("?", "?zz=1", "?_=1733390000&callback=x"):
        response = client.get(f"/api/products/{query}")
        assert (response.status_code, response["X-Cache"]) == (200, "HIT")


def test_repeated_values_never_share_a_page_with_another_order_of_them(client, lamp, make_product):
    make_product("Atlas", price="30.00", stock=3, category="books")
    for query in ("category=home&category=books", "category=books&category=home"):
        response = client.get(f"/api/products/?{query}")
        assert response.status_code == 400
        assert response.json()["errors"] == [
            {"field": "category", "code": "repeated", "message": "Send this parameter once."}
        ]
    books = client.get("/api/products/?category=books").json()["results"]
    assert [p["name"] for p in books] == ["Atlas"]


def test_a_hit_costs_no_query_at_all(client, lamp, django_assert_num_queries):
    client.get("/api/products/")  # caches the page, and the caller's user row
    with django_assert_num_queries(0):
        assert client.get("/api/products/")["X-Cache"] == "HIT"


def test_a_product_update_shows_at_once(client, client_for, staff, lamp):
    client.get("/api/products/")
    client_for(staff).patch(f"/api/products/{lamp.pk}/", {"stock": 99}, HTTP_IF_MATCH="*")
    response = client.get("/api/products/")
    assert response["X-Cache"] == "MISS"
    assert response.json()["results"][0]["stock"] == 99


def test_a_created_product_shows_at_once(client, client_for, staff, lamp):
    client.get("/api/products/")
    client_for(staff).post(
        "/api/products/", {"name": "Rug", "price": "50.00", "stock": 1, "category": "home"}
    )
    assert [p["name"] for p in client.get("/api/products/").json()["results"]] == ["Lamp", "Rug"]


def test_a_deleted_product_disappears_at_once(client, client_for, staff, lamp):
    client.get("/api/products/")
    client_for(staff).delete(f"/api/products/{lamp.pk}/")
    assert client.get("/api/products/").json()["count"] == 0


def test_placing_and_cancelling_an_order_show_in_the_stock_at_once_without_a_lag(
    client, alice, lamp, settings
):
    settings.PRODUCT_LIST_STOCK_LAG = 0
    assert stock_in_list(client, lamp) == 10
    order, _ = place_order(user=alice, items=[{"product": lamp.pk, "quantity": 3}])
    assert stock_in_list(client, lamp) == 7
    client.get("/api/products/")
    change_order_status(order_id=order.pk, actor=alice, status="cancelled")
    assert stock_in_list(client, lamp) == 10


def test_orders_move_the_list_stock_within_the_lag_and_the_product_at_once(client, alice, lamp, settings):
    """Under a flow of orders a page stays a hit for the lag after it was read, then shows the
    stock as it is: never older than the lag."""
    settings.PRODUCT_LIST_STOCK_LAG = 0.6
    first = client.get("/api/products/")
    place_order(user=alice, items=[{"product": lamp.pk, "quantity": 3}])
    within = client.get("/api/products/")
    assert (within["X-Cache"], within.json()["results"][0]["stock"]) == ("HIT", 10)
    assert within["ETag"] == first["ETag"]
    assert client.get("/api/products/", HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 304
    detail = client.get(f"/api/products/{lamp.pk}/")
    assert (detail["X-Cache"], detail.json()["stock"]) == ("MISS", 7)  # a product's page is exact
    time.sleep(0.7)
    after = client.get("/api/products/")
    assert (after["X-Cache"], after.json()["results"][0]["stock"]) == ("MISS", 7)
    assert after["ETag"] != first["ETag"]
    assert client.get("/api/products/")["X-Cache"] == "HIT"


def test_the_lag_never_hides_an_edit_of_the_catalog(client, client_for, staff, alice, lamp, settings):
    settings.PRODUCT_LIST_STOCK_LAG = 60
    client.get("/api/products/")
    place_order(user=alice, items=[{"product": lamp.pk, "quantity": 1}])  # within the lag: a hit
    client_for(staff).patch(f"/api/products/{lamp.pk}/", {"price": "21.00"}, format="json")
    response = client.get("/api/products/")
    assert response["X-Cache"] == "MISS"
    assert [(p["price"], p["stock"]) for p in response.json()["results"]] == [("21.00", 9)]


def test_an_order_leaves_the_other_products_cached(client, alice, lamp, make_product):
    desk = make_product("Desk", price="200.00", stock=4, category="home")
    for product in (lamp, desk):
        client.get(f"/api/products/{product.pk}/")
    place_order(user=alice, items=[{"product": desk.pk, "quantity": 1}])
    lamp_after, desk_after = (client.get(f"/api/products/{p.pk}/") for p in (lamp, desk))
    assert (lamp_after["X-Cache"], lamp_after.json()["stock"]) == ("HIT", 10)
    assert (desk_after["X-Cache"], desk_after.json()["stock"]) == ("MISS", 3)


def test_an_order_invalidates_in_one_round_trip(alice, lamp, make_product, monkeypatch):
    from django.core.cache import caches

    desk = make_product("Desk", price="200.00", stock=4, category="home")
    strict = caches["invalidation"]
    calls = []
    set_many = strict.set_many
    monkeypatch.setattr(
        strict, "set_many", lambda data, **kw: calls.append(sorted(data)) or set_many(data, **kw)
    )
    items = [{"product": desk.pk, "quantity": 1}, {"product": lamp.pk, "quantity": 1}]
    place_order(user=alice, items=items)
    expected = [
        "catalog:stock:version",
        f"catalog:stock:{lamp.pk}:version",
        f"catalog:stock:{desk.pk}:version",
    ]
    assert [keys for keys in calls if keys[0].startswith("catalog:")] == [sorted(expected)]


def test_ttl_is_honoured(client, lamp, settings):
    settings.PRODUCT_LIST_CACHE_TTL = 2  # memcached counts whole seconds: 1 may expire at once
    client.get("/api/products/")
    assert client.get("/api/products/")["X-Cache"] == "HIT"
    time.sleep(3.1)
    assert client.get("/api/products/")["X-Cache"] == "MISS"


@pytest.fixture
def memcached_down(settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "shop.core.memcached.FailOpenPyMemcacheCache",
            "LOCATION": "127.0.0.1:1",  # nothing listens there
            "OPTIONS": {"ignore_exc": True, "connect_timeout": 0.2, "timeout": 0.2, "retry_attempts": 1},
        }
    }


def test_memcached_down_still_answers_from_the_database(client, lamp, memcached_down, caplog):
    with caplog.at_level(logging.WARNING, logger="shop.core.memcached"):
        responses = [client.get("/api/products/") for _ in range(3)]
    assert [(r.status_code, r["X-Cache"]) for r in responses] == [(200, "MISS")] * 3
    assert responses[0].json()["results"][0]["name"] == "Lamp"
    assert "event=cache_unavailable server=127.0.0.1:1" in caplog.text
