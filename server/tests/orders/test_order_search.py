"""The staff's order search (`q`): number, customer, recipient, postal code, product as ordered;
both plans (a rare term fetched by id, a common one read in the list's order) answer the same."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from shop.orders import search
from shop.orders.services import place_order
from tests.helpers import ADDRESS, assert_problem

pytestmark = pytest.mark.django_db

LIST = "/api/admin/orders/"


@pytest.fixture
def orders(alice, bob, make_product, make_user):
    carol = make_user("carol")
    carol.email = "carol@lovelace-labs.example"
    carol.save()
    kettle, lamp = make_product("Copper kettle", stock=50), make_product("Desk lamp", stock=50)

    def place(user, product, **address):
        shipping = {**ADDRESS, **address} if address is not None else None
        order, _ = place_order(
            user=user, items=[{"product": product.pk, "quantity": 1}], shipping_address=shipping
        )
        return order

    placed = {
        "alice_kettle": place(alice, kettle, name="Grace Hopper", postal_code="10115"),
        "bob_lamp": place(bob, lamp, name="Alan Turing", postal_code="CB2 1TN"),
        "carol_lamp": place(carol, lamp, name="Mary Somerville", postal_code="EH1 1YZ"),
        "bob_kettle": place(bob, kettle, name="Ada Lovelace", postal_code="SW1Y 4JH"),
    }
    lamp.name = "Reading lamp"  # renamed after it was ordered: the orders keep "Desk lamp"
    lamp.save()
    return placed


@pytest.fixture(params=["sparse", "dense", "long sides"])
def plan(request, monkeypatch):
    """Every plan: by id (a rare term); the list read in its order, testing each order against
    the sides' listed rows (SPARSE = 0: every term is common); and the same with every side
    probed by a subquery and asked per order with EXISTS (SIDE_IDS = 0 too: no side is short
    enough to list)."""
    if request.param in ("dense", "long sides"):
        monkeypatch.setattr(search, "SPARSE", 0)
    if request.param == "long sides":
        monkeypatch.setattr(search, "SIDE_IDS", 0)
    return request.param


def found(client, query: str) -> set[int]:
    response = client.get(f"{LIST}?page_size=100&{query}")
    assert response.status_code == 200, response.content
    return {order["id"] for order in response.json()["results"]}


@pytest.mark.parametrize(
    ("term", "expected"),
    [
        ("hopper", {"alice_kettle"}),  # recipient, any case
        ("CB2 1T", {"bob_lamp"}),  # postal code
        ("desk lamp", {"bob_lamp", "carol_lamp"}),  # the product's name as ordered
        ("reading", set()),  # its name now: not what was ordered
        ("bob", {"bob_lamp", "bob_kettle"}),  # username
        ("lovelace", {"bob_kettle", "carol_lamp"}),  # a recipient, and carol's e-mail
        ("nothing-like-it", set()),
    ],
)
def test_it_finds_orders_by_each_of_their_parts(client_for, staff, orders, plan, term, expected):
    assert found(client_for(staff), f"q={term}") == {orders[name].pk for name in expected}


def test_the_order_number_finds_that_order(client_for, staff, orders, plan):
    order = orders["carol_lamp"]
    assert order.pk in found(client_for(staff), f"q={order.pk}")


def test_digits_that_are_not_ascii_are_text(client_for, staff, orders):
    """ "³" and "٣" are digits to Python's str.isdigit(), not an order number (found by schemathesis)."""
    assert found(client_for(staff), "q=%C2%B3") == set()
    assert found(client_for(staff), "q=%D9%A3") == set()


def test_it_combines_with_the_filters_and_the_export(client_for, staff, orders, bob, plan):
    client = client_for(staff)
    client.patch(f"/api/orders/{orders['bob_lamp'].pk}/", {"status": "cancelled"}, format="json")
    assert found(client, "q=lamp&status=pending") == {orders["carol_lamp"].pk}
    assert found(client, f"q=kettle&user={bob.pk}") == {orders["bob_kettle"].pk}
    exported = b"".join(client.get("/api/admin/orders/export.csv?q=lamp").streaming_content).decode()
    assert sorted(int(line.split(",")[0]) for line in exported.splitlines()[1:]) == sorted(
        [orders["bob_lamp"].pk, orders["carol_lamp"].pk]
    )


@pytest.mark.parametrize("common", [False, True])
def test_the_probes_count_the_matches_up_to_the_search_cap(client_for, staff, orders, monkeypatch, common):
    """A search's count is exact up to COUNT_CAP; beyond it `count_capped`, and the rest through
    the `next` cursor. Either way the probes have counted: no COUNT query runs."""
    monkeypatch.setattr(search, "COUNT_CAP", 1 if common else 3)
    monkeypatch.setattr(search, "SPARSE", search.COUNT_CAP)
    client = client_for(staff)
    with CaptureQueriesContext(connection) as queries:
        page = client.get(f"{LIST}?q=lamp").json()  # bob's and carol's
    assert not [query for query in queries if "COUNT(" in query["sql"].upper()]
    assert (page["count"], page["count_capped"]) == ((1, True) if common else (2, False))
    ids = [order["id"] for order in page["results"]]
    if common:
        assert len(ids) == 1 and page["next"] is not None
        ids += [order["id"] for order in client.get(page["next"]).json()["results"]]
    assert sorted(ids) == sorted([orders["bob_lamp"].pk, orders["carol_lamp"].pk])


def test_a_term_outside_the_contract_is_refused(client_for, staff):
    client = client_for(staff)
    for query in ("q=", "q=a%00b", "q=" + "x" * 101, "q=line%0Abreak"):
        assert_problem(client.get(f"{LIST}?{query}"), 400, "validation_error")


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the trigram indexes are PostgreSQL's")
def test_postgresql_has_a_trigram_index_for_every_substring_match():
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname, indexdef FROM pg_indexes WHERE indexname LIKE '%%_trgm'")
        indexes = dict(cursor.fetchall())
    assert set(indexes) == {
        "order_address_name_trgm",
        "order_address_postal_trgm",
        "order_item_product_name_trgm",
        "user_username_trgm",
        "user_email_trgm",
    }
    assert all("gin_trgm_ops" in definition and "upper" in definition for definition in indexes.values())
