"""`If-Match` on an order's status change: a staff client acts on the order as it was shown, or not
at all. The order's ETag is the hash of its representation, the same from a read, a cached read
and the answer to a change."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.helpers import assert_problem

pytestmark = [pytest.mark.memcached, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def order(place, alice, make_product):
    return place(alice, (make_product("Kettle", stock=5), 2))


def read(client, order) -> tuple[dict, str]:
    response = client.get(f"/api/orders/{order.pk}/")
    assert response.status_code == 200
    return response.json(), response["ETag"]


def change(client, order, status: str, **headers):
    return client.patch(f"/api/orders/{order.pk}/", {"status": status}, format="json", **headers)


def test_a_cancel_decided_on_a_pending_order_does_not_hit_it_once_it_is_processing(client_for, staff, order):
    first, second = client_for(staff), client_for(staff)
    shown, tag = read(first, order)
    assert shown["status"] == "pending"
    assert change(second, order, "processing").status_code == 200

    # without If-Match the transition table alone would let staff cancel a processing order
    refused = change(first, order, "cancelled", HTTP_IF_MATCH=tag)
    assert_problem(refused, 412, "precondition_failed")
    current, current_tag = read(first, order)
    assert current["status"] == "processing"
    assert refused["ETag"] == current_tag != tag


def test_the_current_tag_lets_the_change_through_and_the_answer_carries_the_next(client_for, staff, order):
    client = client_for(staff)
    _, tag = read(client, order)
    _, cached_tag = read(client, order)  # the second read is a cache hit: the same tag
    assert cached_tag == tag

    moved = change(client, order, "processing", HTTP_IF_MATCH=tag)
    assert moved.status_code == 200 and moved["ETag"] != tag
    body, after = read(client, order)
    assert moved["ETag"] == after and moved.json() == body


def test_any_version_and_no_header_both_pass(client_for, staff, order):
    client = client_for(staff)
    assert change(client, order, "processing", HTTP_IF_MATCH="*").status_code == 200
    assert change(client, order, "shipped").status_code == 200


def test_a_retried_cancel_is_answered_with_the_order_even_with_the_tag_from_before(client_for, alice, order):
    client = client_for(alice)
    _, before = read(client, order)
    assert change(client, order, "cancelled", HTTP_IF_MATCH=before).status_code == 200
    retried = change(client, order, "cancelled", HTTP_IF_MATCH=before)
    assert retried.status_code == 200 and retried.json()["status"] == "cancelled"


def test_a_weak_or_foreign_tag_never_matches(client_for, staff, order):
    client = client_for(staff)
    _, tag = read(client, order)
    assert_problem(change(client, order, "processing", HTTP_IF_MATCH=f"W/{tag}"), 412, "precondition_failed")
    assert_problem(change(client, order, "processing", HTTP_IF_MATCH='"nope"'), 412, "precondition_failed")


def test_the_check_costs_queries_only_when_asked_for(client_for, staff, place, alice, make_product):
    client = client_for(staff)
    plain, checked = (place(alice, (make_product(name, stock=5), 1)) for name in ("A", "B"))
    _, tag = read(client, checked)
    with CaptureQueriesContext(connection) as without:
        assert change(client, plain, "processing").status_code == 200
    without = in_transaction(without.captured_queries)
    with CaptureQueriesContext(connection) as with_tag:
        assert change(client, checked, "processing", HTTP_IF_MATCH=tag).status_code == 200
    with_tag = in_transaction(with_tag.captured_queries)
    # the check renders the locked order once, under its lock: the order with its invoice and
    # addresses, its lines, its status history, its address history
    assert len(with_tag) - len(without) == 4, "\n".join(with_tag)


def in_transaction(queries) -> list[str]:
    statements = [query["sql"] for query in queries]
    return statements[statements.index("BEGIN") : statements.index("COMMIT") + 1]
