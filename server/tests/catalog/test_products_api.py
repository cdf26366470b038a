"""Product endpoints: listing, filters, ordering, pagination, staff-only writes, soft delete."""

from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest

from shop.catalog.models import Product
from tests.helpers import assert_problem

pytestmark = pytest.mark.django_db

NEW_PRODUCT = {"name": "Desk lamp", "description": "LED", "price": "24.50", "stock": 7, "category": "home"}


@pytest.fixture
def catalog(make_product):
    return [
        make_product("Laptop", price="999.00", stock=3, category="electronics"),
        make_product("Phone", price="499.99", stock=5, category="electronics"),
        make_product("T-shirt", price="15.00", stock=50, category="clothing"),
        make_product("Novel", price="12.50", stock=20, category="books"),
        make_product("Old phone", price="50.00", stock=1, category="electronics", is_active=False),
    ]


def names(response) -> list[str]:
    return [product["name"] for product in response.json()["results"]]


def test_it_lists_active_products_with_money_as_strings(client_for, alice, catalog):
    response = client_for(alice).get("/api/products/")
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 4
    assert names(response) == ["Laptop", "Phone", "T-shirt", "Novel"]
    assert body["results"][0]["price"] == "999.00"


def test_it_requires_authentication_to_list(anon, catalog):
    assert_problem(anon.get("/api/products/"), 401, "not_authenticated")


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("category=electronics", ["Laptop", "Phone"]),
        ("min_price=15&max_price=500", ["Phone", "T-shirt"]),
        ("search=PHO", ["Phone"]),
        ("ordering=price", ["Novel", "T-shirt", "Phone", "Laptop"]),
        ("ordering=-name", ["T-shirt", "Phone", "Novel", "Laptop"]),
        ("category=electronics&ordering=-price", ["Laptop", "Phone"]),
    ],
)
def test_it_filters_and_orders(client_for, alice, catalog, query, expected):
    response = client_for(alice).get(f"/api/products/?{query}")
    assert response.status_code == 200
    assert names(response) == expected


def test_it_paginates_with_relative_links(client_for, alice, catalog):
    client = client_for(alice)
    first = client.get("/api/products/?page_size=3&category=electronics").json()
    assert first["next"] is None
    page1 = client.get("/api/products/?page_size=3").json()
    assert page1["next"] == "/api/products/?page=2&page_size=3"
    page2 = client.get(page1["next"]).json()
    assert [p["name"] for p in page2["results"]] == ["Novel"]
    assert page2["previous"] == "/api/products/?page_size=3"


def test_a_page_past_the_last_is_empty_and_links_back_to_the_last(client_for, alice, catalog):
    body = client_for(alice).get("/api/products/?page=9&page_size=2").json()
    assert (body["count"], body["results"], body["next"]) == (4, [], None)
    assert body["previous"].startswith("/api/products/?")
    assert parse_qs(urlsplit(body["previous"]).query) == {"page": ["2"], "page_size": ["2"]}
    # with nothing at all to list, the first page is simply empty, and the next ones link back to it
    empty = client_for(alice).get("/api/products/?search=nothing-like-this&page=3").json()
    assert (empty["count"], empty["results"]) == (0, [])
    assert parse_qs(urlsplit(empty["previous"]).query) == {"search": ["nothing-like-this"]}


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("page_size=101", "page_size"),
        ("min_price=abc", "min_price"),
        ("category=food", "category"),
        ("ordering=stock", "ordering"),
    ],
)
def test_it_rejects_invalid_filters(client_for, alice, query, field):
    body = assert_problem(client_for(alice).get(f"/api/products/?{query}"), 400, "validation_error")
    assert body["errors"][0]["field"] == field


def test_it_lets_staff_create_products(client_for, staff):
    response = client_for(staff).post("/api/products/", NEW_PRODUCT)
    assert response.status_code == 201
    body = response.json()
    assert response["Location"] == f"/api/products/{body['id']}/"
    product = Product.objects.get(pk=body["id"])
    assert product.price == Decimal("24.50") and product.stock == 7 and product.is_active


def test_it_forbids_customers_to_write(client_for, alice, catalog):
    client = client_for(alice)
    product = catalog[0]
    assert_problem(client.post("/api/products/", NEW_PRODUCT), 403, "permission_denied")
    assert_problem(client.put(f"/api/products/{product.pk}/", NEW_PRODUCT), 403, "permission_denied")
    assert_problem(client.patch(f"/api/products/{product.pk}/", {"stock": 0}), 403, "permission_denied")
    assert_problem(client.delete(f"/api/products/{product.pk}/"), 403, "permission_denied")
    product.refresh_from_db()
    assert product.stock == 3 and product.is_active


def test_it_forbids_anonymous_writes(anon, catalog):
    assert_problem(anon.post("/api/products/", NEW_PRODUCT), 401, "not_authenticated")


def test_it_reads_one_product_and_hides_retired_ones(client_for, alice, catalog):
    client = client_for(alice)
    assert client.get(f"/api/products/{catalog[0].pk}/").json()["name"] == "Laptop"
    assert_problem(client.get(f"/api/products/{catalog[4].pk}/"), 404, "not_found")
    assert_problem(client.get("/api/products/999999/"), 404, "not_found")


def test_it_replaces_and_patches(client_for, staff, catalog):
    client = client_for(staff)
    product = catalog[2]
    etag = client.get(f"/api/products/{product.pk}/")["ETag"]
    response = client.put(f"/api/products/{product.pk}/", NEW_PRODUCT, HTTP_IF_MATCH=etag)
    assert response.status_code == 200
    assert response.json()["name"] == "Desk lamp"
    response = client.patch(f"/api/products/{product.pk}/", {"price": "19.9"})
    assert response.json()["price"] == "19.90"
    product.refresh_from_db()
    assert (product.name, product.price, product.stock) == ("Desk lamp", Decimal("19.90"), 7)


def test_it_rejects_an_empty_patch(client_for, staff, catalog):
    assert_problem(client_for(staff).patch(f"/api/products/{catalog[0].pk}/", {}), 400, "validation_error")


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({**NEW_PRODUCT, "price": "-1.00"}, "price"),
        ({**NEW_PRODUCT, "price": 3.5}, "price"),
        ({**NEW_PRODUCT, "price": "1.234"}, "price"),
        ({**NEW_PRODUCT, "stock": -1}, "stock"),
        ({**NEW_PRODUCT, "name": " padded "}, "name"),
        ({**NEW_PRODUCT, "name": "nul\u0000"}, "name"),
        ({**NEW_PRODUCT, "category": "weapons"}, "category"),
    ],
)
def test_it_rejects_invalid_products(client_for, staff, payload, field):
    body = assert_problem(client_for(staff).post("/api/products/", payload), 400, "validation_error")
    assert body["errors"][0]["field"] == field
    assert not Product.objects.exists()


def test_it_retires_products_on_delete(client_for, staff, catalog):
    client = client_for(staff)
    product = catalog[0]
    assert client.delete(f"/api/products/{product.pk}/").status_code == 204
    product.refresh_from_db()
    assert product.is_active is False
    assert_problem(client.delete(f"/api/products/{product.pk}/"), 404, "not_found")
    assert_problem(client.patch(f"/api/products/{product.pk}/", {"stock": 1}), 404, "not_found")


def test_the_count_is_exact_up_to_the_cap_then_capped(client_for, alice, make_product, monkeypatch):
    from shop.api.pagination import CappedCountPaginator

    monkeypatch.setattr(CappedCountPaginator, "count_cap", 5)
    for i in range(7):
        make_product(f"P{i}")
    client = client_for(alice)
    body = client.get("/api/products/?page_size=2").json()
    assert (body["count"], body["count_capped"]) == (5, True)
    assert client.get("/api/products/?page_size=2&page=3").json()["results"][0]["name"] == "P4"
    assert client.get("/api/products/?page_size=2&page=4").json()["results"] == []  # past the cap
    narrowed = client.get("/api/products/?search=P6").json()
    assert (narrowed["count"], narrowed["count_capped"]) == (1, False)


def test_counting_reads_at_most_cap_plus_one_rows(client_for, alice, make_product, django_assert_num_queries):
    client = client_for(alice)
    make_product("Only")
    with django_assert_num_queries(3) as captured:  # the user, the bounded count, the page
        client.get("/api/products/")
    sql = " ".join(q["sql"] for q in captured.captured_queries)
    assert "LIMIT 10001" in sql
