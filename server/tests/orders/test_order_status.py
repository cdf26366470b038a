"""PATCH /api/orders/{id}/: the transition table per role, restocking, history."""

import pytest

from shop.orders.models import Order
from shop.orders.transitions import OWNER_TRANSITIONS, STAFF_TRANSITIONS
from tests.helpers import assert_problem

pytestmark = pytest.mark.django_db


@pytest.fixture
def alices_order(place, alice, lamp):
    return place(alice, (lamp, 4))


def patch(client, order, status):
    return client.patch(f"/api/orders/{order.pk}/", {"status": status})


def test_staff_walk_an_order_to_delivered(client_for, staff, alices_order):
    client = client_for(staff)
    for status in ("processing", "shipped", "delivered"):
        response = patch(client, alices_order, status)
        assert response.status_code == 200
        assert response.json()["status"] == status
    alices_order.refresh_from_db()
    assert alices_order.status == "delivered"
    history = [(c.from_status, c.to_status, c.changed_by_id) for c in alices_order.status_changes.all()]
    assert history[1:] == [
        ("pending", "processing", staff.pk),
        ("processing", "shipped", staff.pk),
        ("shipped", "delivered", staff.pk),
    ]


def test_the_owner_cancels_a_pending_order_and_stock_returns(client_for, alice, alices_order, lamp):
    lamp.refresh_from_db()
    assert lamp.stock == 6
    response = patch(client_for(alice), alices_order, "cancelled")
    assert response.status_code == 200
    assert response.json()["status_history"][-1]["to_status"] == "cancelled"
    lamp.refresh_from_db()
    assert lamp.stock == 10


def test_a_second_cancel_is_an_idempotent_retry(client_for, alice, staff, alices_order, lamp):
    first = patch(client_for(alice), alices_order, "cancelled")
    again = patch(client_for(alice), alices_order, "cancelled")
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json()  # the same order, no second history entry
    assert alices_order.status_changes.filter(to_status="cancelled").count() == 1
    lamp.refresh_from_db()
    assert lamp.stock == 10
    # any other move out of cancelled is still a conflict
    moved = patch(client_for(staff), alices_order, "processing")
    body = assert_problem(moved, 409, "invalid_status_transition")
    assert body["current_status"] == "cancelled" and body["allowed_statuses"] == []


@pytest.mark.parametrize("target", ["processing", "shipped", "delivered"])
def test_the_owner_may_not_move_orders_forward(client_for, alice, alices_order, target):
    assert_problem(patch(client_for(alice), alices_order, target), 403, "status_change_forbidden")
    alices_order.refresh_from_db()
    assert alices_order.status == "pending"


def test_the_owner_cannot_cancel_once_processing(client_for, alice, staff, alices_order, lamp):
    patch(client_for(staff), alices_order, "processing")
    body = assert_problem(
        patch(client_for(alice), alices_order, "cancelled"), 409, "invalid_status_transition"
    )
    assert body["current_status"] == "processing"
    lamp.refresh_from_db()
    assert lamp.stock == 6


def test_staff_cancel_a_processing_order(client_for, staff, alices_order, lamp):
    patch(client_for(staff), alices_order, "processing")
    assert patch(client_for(staff), alices_order, "cancelled").status_code == 200
    lamp.refresh_from_db()
    assert lamp.stock == 10


def test_staff_cannot_skip_or_go_back(client_for, staff, alices_order):
    client = client_for(staff)
    body = assert_problem(patch(client, alices_order, "shipped"), 409, "invalid_status_transition")
    assert body["allowed_statuses"] == ["cancelled", "processing"]
    patch(client, alices_order, "processing")
    patch(client, alices_order, "shipped")
    body = assert_problem(patch(client, alices_order, "cancelled"), 409, "invalid_status_transition")
    assert body["allowed_statuses"] == ["delivered"]
    assert_problem(patch(client, alices_order, "pending"), 409, "invalid_status_transition")


def test_another_customer_gets_404(client_for, bob, alices_order):
    assert_problem(patch(client_for(bob), alices_order, "cancelled"), 404, "not_found")
    alices_order.refresh_from_db()
    assert alices_order.status == "pending"


def test_unknown_status_is_400(client_for, staff, alices_order):
    body = assert_problem(patch(client_for(staff), alices_order, "lost"), 400, "validation_error")
    assert body["errors"][0]["field"] == "status"


def test_anonymous_gets_401(anon, alices_order):
    assert_problem(patch(anon, alices_order, "cancelled"), 401, "not_authenticated")


def test_the_tables_cover_every_status():
    statuses = set(Order._meta.get_field("status").choices and dict(Order._meta.get_field("status").choices))
    assert set(STAFF_TRANSITIONS) == statuses == set(OWNER_TRANSITIONS)
    for table in (STAFF_TRANSITIONS, OWNER_TRANSITIONS):
        assert all(targets <= statuses for targets in table.values())
