"""Deep pages of the staff's order list: `next` and `previous` are signed keyset cursors, so a page
costs the same however deep, nothing repeats or is skipped, and an altered cursor is a 400."""

import itertools

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from shop.api.pagination import CappedCountPaginator
from tests.helpers import assert_problem

pytestmark = pytest.mark.django_db

LIST = "/api/admin/orders/"


@pytest.fixture
def orders(place, alice, bob, make_product):
    lamp, mug = make_product("Lamp", price="20.00", stock=50), make_product("Mug", price="5.00", stock=50)
    lines = [(lamp, 1), (mug, 2), (mug, 4), (lamp, 2), (mug, 1), (mug, 4), (lamp, 1)]  # ties in totals
    return [place(alice if i % 2 else bob, line) for i, line in enumerate(lines)]


def flat(pages: list[list[int]]) -> list[int]:
    return list(itertools.chain.from_iterable(pages))


def walk(client, url: str, link: str = "next") -> list[list[int]]:
    pages = []
    while url:
        response = client.get(url)
        assert response.status_code == 200, response.content
        body = response.json()
        pages.append([order["id"] for order in body["results"]])
        url = body[link]
    return pages


@pytest.mark.parametrize(
    "ordering", ["", "&ordering=total_price", "&ordering=-total_price", "&ordering=created_at"]
)
def test_following_next_reads_every_order_once_in_the_lists_order(client_for, staff, orders, ordering):
    client = client_for(staff)
    everything = [o["id"] for o in client.get(f"{LIST}?page_size=100{ordering}").json()["results"]]
    pages = walk(client, f"{LIST}?page_size=2{ordering}")
    assert [len(page) for page in pages] == [2, 2, 2, 1]
    assert flat(pages) == everything and len(everything) == len(orders)
    # and back: `previous` from the last page gives the same pages in reverse
    last = client.get(f"{LIST}?page_size=2{ordering}")
    url = last.json()["next"]
    while (body := client.get(url).json())["next"]:
        url = body["next"]
    assert walk(client, url, "previous")[::-1][1:] == pages[1:]


def test_a_cursor_keeps_its_place_when_orders_arrive(client_for, staff, orders, place, alice, make_product):
    client = client_for(staff)
    first = client.get(f"{LIST}?page_size=3").json()
    place(alice, (make_product("Kettle", stock=5), 1))  # newest: it would shift every numbered page
    rest = flat(walk(client, first["next"]))
    assert [o["id"] for o in first["results"]] + rest == [o.pk for o in reversed(orders)]


def test_a_deep_page_is_a_seek_not_an_offset(client_for, staff, orders):
    client = client_for(staff)
    url = client.get(f"{LIST}?page_size=2").json()["next"]
    url = client.get(url).json()["next"]
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    page_query = [q["sql"] for q in queries.captured_queries if 'FROM "orders_order"' in q["sql"]]
    assert page_query and not any("OFFSET" in sql for sql in page_query), page_query


def test_next_goes_on_past_the_counted_pages(client_for, staff, orders, monkeypatch):
    monkeypatch.setattr(CappedCountPaginator, "count_cap", 3)
    client = client_for(staff)
    second = client.get(f"{LIST}?page_size=2&page=2").json()  # the last page the capped count knows
    assert (second["count"], second["count_capped"], len(second["results"])) == (3, True, 1)
    beyond = walk(client, second["next"])  # from the last order shown, past the cap
    assert flat(beyond) == [o.pk for o in reversed(orders)][3:]


def test_the_filters_stay_in_the_links(client_for, staff, orders, alice):
    client = client_for(staff)
    pages = walk(client, f"{LIST}?page_size=1&user={alice.pk}&status=pending")
    assert flat(pages) == [o.pk for o in reversed(orders) if o.user_id == alice.pk]


def test_an_altered_or_foreign_cursor_is_a_400_naming_it(client_for, staff, orders):
    client = client_for(staff)
    link = client.get(f"{LIST}?page_size=2").json()["next"]
    cursor = link.split("cursor=")[1].split("&")[0]
    altered = cursor[:-3] + ("xyz" if not cursor.endswith("xyz") else "abc")
    for url in (
        f"{LIST}?cursor={altered}",
        f"{LIST}?cursor={cursor}&ordering=total_price",  # made for -created_at
        f"{LIST}?cursor={cursor}&page=2",
        f"{LIST}?cursor=not-a-cursor",
    ):
        problem = assert_problem(client.get(url), 400, "validation_error")
        assert [error["field"] for error in problem["errors"]] == ["cursor"], url
    assert_problem(client.get(f"{LIST}?cursor=%00"), 400, "validation_error")  # not even the pattern
