"""The staff's CSV export (`adminExportOrders`): exactly the filtered list, every page, streamed a
chunk at a time by keyset, spreadsheet-safe."""

import csv
import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from shop.orders import export
from shop.orders.services import place_order
from tests.helpers import ADDRESS, assert_problem

pytestmark = pytest.mark.django_db

URL = "/api/admin/orders/export.csv"


def rows(response) -> list[dict[str, str]]:
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    text = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(text)))


def listed_ids(client, query: str) -> list[int]:
    ids, url = [], f"/api/admin/orders/?page_size=100&{query}"
    while url:
        page = client.get(url).json()
        ids += [order["id"] for order in page["results"]]
        url = page["next"]
    return ids


@pytest.fixture
def orders(place, alice, bob, make_product, staff, client_for):
    """Seven orders of two customers, two of them with the same total, one cancelled."""
    lamp, mug = make_product("Lamp", price="20.00", stock=50), make_product("Mug", price="5.00", stock=50)
    placed = [
        place(alice, (lamp, 1)),
        place(bob, (mug, 2)),
        place(alice, (lamp, 1), (mug, 1)),
        place(alice, (mug, 4)),  # 20.00, as the first
        place(bob, (lamp, 2), shipping_address=None),
        place(alice, (mug, 1)),
        place(bob, (mug, 3)),
    ]
    client_for(staff).patch(f"/api/orders/{placed[5].pk}/", {"status": "cancelled"}, format="json")
    return placed


@pytest.mark.parametrize(
    "query",
    [
        "",
        "status=pending",
        "ordering=total_price",
        "ordering=-total_price&status=pending",
        "ordering=created_at",
    ],
)
def test_it_exports_exactly_the_filtered_list_in_its_order(
    client_for, staff, alice, orders, query, monkeypatch
):
    monkeypatch.setattr(export, "CHUNK", 2)  # several chunks, and ties across their boundaries
    client = client_for(staff)
    exported = rows(client.get(f"{URL}?{query}"))
    assert [int(row["order_id"]) for row in exported] == listed_ids(client, query)
    if not query:
        assert len(exported) == len(orders)


def test_a_row_holds_the_order_its_customer_lines_and_address(client_for, staff, alice, orders):
    exported = {int(row["order_id"]): row for row in rows(client_for(staff).get(f"{URL}?user={alice.pk}"))}
    assert set(exported) == {orders[i].pk for i in (0, 2, 3, 5)}
    row = exported[orders[2].pk]
    order = orders[2]
    assert row == {
        "order_id": str(order.pk),
        "created_at": order.created_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "status": "pending",
        "customer_id": str(alice.pk),
        "username": "alice",
        "email": "alice@example.com",
        "lines": "1 x Lamp; 1 x Mug",
        "total_price": "25.00",
        "currency": "EUR",
        "ship_to_name": ADDRESS["name"],
        "ship_to_line1": ADDRESS["line1"],
        "ship_to_line2": "",
        "ship_to_postal_code": ADDRESS["postal_code"],
        "ship_to_city": ADDRESS["city"],
        "ship_to_region": "",
        "ship_to_country": "GB",
    }
    assert exported[orders[5].pk]["status"] == "cancelled"


def test_an_order_without_an_address_has_empty_address_cells(client_for, staff, bob, orders):
    exported = {int(row["order_id"]): row for row in rows(client_for(staff).get(f"{URL}?user={bob.pk}"))}
    assert all(exported[orders[4].pk][f"ship_to_{part}"] == "" for part in ("name", "city", "country"))


def test_cells_a_spreadsheet_would_evaluate_are_neutralised(client_for, staff, make_user, make_product):
    mallory = make_user("-mallory")
    evil = make_product('=HYPERLINK("https://evil.example","click")', stock=5)
    address = {**ADDRESS, "name": "@SUM(A1:A9)", "line1": "+1 Formula Road", "city": "=cmd|' /C calc'!A0"}
    place_order(user=mallory, items=[{"product": evil.pk, "quantity": 1}], shipping_address=address)
    [row] = rows(client_for(staff).get(f"{URL}?user={mallory.pk}"))
    assert row["username"] == "'-mallory"
    assert row["lines"] == "1 x " + evil.name  # starts with a digit: nothing to neutralise
    assert row["ship_to_name"] == "'@SUM(A1:A9)"
    assert row["ship_to_line1"] == "'+1 Formula Road"
    assert row["ship_to_city"] == "'=cmd|' /C calc'!A0"
    assert export.spreadsheet_safe("\t=1") == "'\t=1" and export.spreadsheet_safe("=x") == "'=x"
    assert export.spreadsheet_safe("Plain") == "Plain"


def test_a_filter_that_matches_nothing_exports_the_header_alone(client_for, staff, orders):
    response = client_for(staff).get(f"{URL}?status=delivered")
    assert response["Content-Disposition"].startswith('attachment; filename="orders-')
    text = b"".join(response.streaming_content).decode()
    assert text == ",".join(export.HEADER) + "\r\n"


def test_each_chunk_costs_two_queries_whatever_its_size(client_for, staff, orders, monkeypatch):
    monkeypatch.setattr(export, "CHUNK", 3)
    client = client_for(staff)
    response = client.get(URL)
    with CaptureQueriesContext(connection) as queries:
        body = b"".join(response.streaming_content)
    assert body.count(b"\r\n") == 1 + len(orders)
    # 7 orders in chunks of 3, 3 and 1: each its orders (with customer and address) and its lines
    assert len(queries.captured_queries) == 6, [q["sql"][:80] for q in queries.captured_queries]


def test_only_staff_may_export(client_for, alice, anon, orders):
    assert_problem(client_for(alice).get(URL), 403, "permission_denied")
    assert_problem(anon.get(URL), 401, "not_authenticated")


def test_a_filter_outside_the_contract_is_refused(client_for, staff):
    assert_problem(client_for(staff).get(f"{URL}?ordering=status"), 400, "validation_error")
    assert_problem(client_for(staff).get(f"{URL}?created_after=yesterday"), 400, "validation_error")
