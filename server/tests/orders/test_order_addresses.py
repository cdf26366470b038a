"""Where an order goes: the copies of its addresses, placed with it, changed by staff while it can
still change, and required before it ships."""

import hashlib
import json

import pytest

from shop.addresses.models import SavedAddress
from shop.orders.models import Order, OrderAddress
from shop.orders.services import OrderLine, _request_hash
from tests.helpers import ADDRESS, assert_problem, post_order

pytestmark = pytest.mark.django_db

ELSEWHERE = {**ADDRESS, "name": "Charles Babbage", "line1": "1 Dorset Street", "postal_code": "W1U 4EG"}


@pytest.fixture
def kettle(make_product):
    return make_product("Kettle", price="30.00", stock=10)


def saved(user, address=ADDRESS) -> SavedAddress:
    return SavedAddress.objects.create(user=user, is_default=False, **address)


def test_an_order_keeps_a_copy_of_each_address_it_was_placed_with(alice_client, kettle):
    billing = {**ELSEWHERE, "country": "FR"}
    response = alice_client.post(
        "/api/orders/",
        {
            "items": [{"product": kettle.pk, "quantity": 1}],
            "shipping_address": ADDRESS,
            "billing_address": billing,
        },
        format="json",
    )
    assert response.status_code == 201
    body = response.json()
    assert (body["shipping_address"], body["billing_address"]) == (ADDRESS, billing)
    assert body["shipping_address_history"] == []
    assert alice_client.get(f"/api/orders/{body['id']}/").json() == body


def test_an_order_may_be_placed_without_addresses(alice_client, kettle):
    body = post_order(alice_client, (kettle, 1), shipping_address=None).json()
    assert (body["shipping_address"], body["billing_address"]) == (None, None)
    assert not OrderAddress.objects.exists()


def test_a_saved_address_is_copied_and_the_copy_outlives_it(alice_client, alice, kettle):
    home = saved(alice)
    body = post_order(alice_client, (kettle, 1), shipping_address={"saved_address": home.pk}).json()
    assert body["shipping_address"] == ADDRESS
    alice_client.patch(f"/api/addresses/{home.pk}/", {"address": ELSEWHERE}, format="json")
    assert alice_client.get(f"/api/orders/{body['id']}/").json()["shipping_address"] == ADDRESS
    assert alice_client.delete(f"/api/addresses/{home.pk}/").status_code == 204
    assert alice_client.get(f"/api/orders/{body['id']}/").json()["shipping_address"] == ADDRESS


def test_another_customers_saved_address_cannot_be_ordered_to(alice_client, bob, kettle):
    bobs = saved(bob, ELSEWHERE)
    for field in ("shipping_address", "billing_address"):
        response = alice_client.post(
            "/api/orders/",
            {"items": [{"product": kettle.pk, "quantity": 2}], field: {"saved_address": bobs.pk}},
            format="json",
        )
        problem = assert_problem(response, 400, "validation_error")
        assert [(error["field"], error["code"]) for error in problem["errors"]] == [
            (f"{field}.saved_address", "does_not_exist")
        ]
        assert ELSEWHERE["name"] not in response.content.decode()
    kettle.refresh_from_db()
    assert kettle.stock == 10 and not Order.objects.exists() and not OrderAddress.objects.exists()


def test_an_address_that_is_neither_form_is_refused(alice_client, kettle):
    for address in ({"saved_address": 1, "name": "x"}, {"saved_address": "one"}, "London", {}):
        response = alice_client.post(
            "/api/orders/",
            {"items": [{"product": kettle.pk, "quantity": 1}], "shipping_address": address},
            format="json",
        )
        assert_problem(response, 400, "validation_error")
    assert not Order.objects.exists()


def test_the_idempotency_key_covers_the_addresses(alice_client, alice, kettle):
    home = saved(alice)
    key = {"HTTP_IDEMPOTENCY_KEY": "order-with-address"}
    first = post_order(alice_client, (kettle, 1), **key)
    again = post_order(alice_client, (kettle, 1), **key)
    assert again.status_code == 201 and again["Idempotent-Replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]
    for other in (ELSEWHERE, None, {"saved_address": home.pk}):
        assert_problem(
            post_order(alice_client, (kettle, 1), shipping_address=other, **key),
            422,
            "idempotency_key_reused",
        )
    saved_key = {"HTTP_IDEMPOTENCY_KEY": "order-with-saved-address"}
    placed = post_order(alice_client, (kettle, 1), shipping_address={"saved_address": home.pk}, **saved_key)
    home_id = home.pk
    home.delete()  # a retry names the address as it was sent: it replays, and copies nothing again
    replayed = post_order(alice_client, (kettle, 1), shipping_address={"saved_address": home_id}, **saved_key)
    assert placed.status_code == 201 and replayed.status_code == 201, replayed.content
    assert replayed["Idempotent-Replayed"] == "true"
    kettle.refresh_from_db()
    assert kettle.stock == 8


def test_a_body_without_addresses_hashes_as_keys_remembered_before_addresses_existed():
    lines = [OrderLine(3, 2, 0), OrderLine(1, 1, 1)]
    before = hashlib.sha256(json.dumps([[1, 1], [3, 2]]).encode()).hexdigest()
    assert _request_hash(lines, {"shipping_address": None, "billing_address": None}) == before
    assert _request_hash(lines, {"shipping_address": ADDRESS, "billing_address": None}) != before


def put_address(client, order, address=ELSEWHERE, **headers):
    return client.put(f"/api/orders/{order.pk}/shipping-address/", address, format="json", **headers)


def etag(client, order) -> str:
    return client.get(f"/api/orders/{order.pk}/")["ETag"]


@pytest.mark.memcached
@pytest.mark.django_db(transaction=True)
def test_staff_change_the_address_with_if_match_and_the_history_keeps_the_old_one(
    client_for, staff, alice, place, kettle
):
    order = place(alice, (kettle, 1))
    client, owner = client_for(staff), client_for(alice)
    before = owner.get(f"/api/orders/{order.pk}/")  # cached now
    changed = put_address(client, order, HTTP_IF_MATCH=before["ETag"])
    assert changed.status_code == 200
    body = changed.json()
    assert body["shipping_address"] == ELSEWHERE
    ((entry,),) = [body["shipping_address_history"]]
    assert (entry["previous"], entry["shipping_address"], entry["changed_by"]) == (
        ADDRESS,
        ELSEWHERE,
        staff.pk,
    )
    after = owner.get(f"/api/orders/{order.pk}/")
    assert after.json() == body and after["ETag"] == changed["ETag"] != before["ETag"]

    # the same address again is a retry: nothing recorded, whatever If-Match says
    again = put_address(client, order, HTTP_IF_MATCH=before["ETag"])
    assert again.status_code == 200 and len(again.json()["shipping_address_history"]) == 1


@pytest.mark.memcached
@pytest.mark.django_db(transaction=True)
def test_the_change_needs_if_match_and_the_current_version(client_for, staff, alice, place, kettle):
    order = place(alice, (kettle, 1))
    client = client_for(staff)
    assert_problem(put_address(client, order), 428, "precondition_required")
    stale = etag(client, order)
    client.patch(f"/api/orders/{order.pk}/", {"status": "processing"}, format="json")
    refused = put_address(client, order, HTTP_IF_MATCH=stale)
    assert_problem(refused, 412, "precondition_failed")
    assert refused["ETag"] == etag(client, order)
    order.refresh_from_db()
    assert order.shipping_address.as_dict() == ADDRESS and not order.shipping_address_changes.exists()
    assert put_address(client, order, HTTP_IF_MATCH=refused["ETag"]).status_code == 200


def test_an_order_without_an_address_gets_one_then_ships_with_it(
    client_for, staff, alice, place, kettle, partner
):
    order = place(alice, (kettle, 1), shipping_address=None)
    client = client_for(staff)
    assert (
        client.patch(f"/api/orders/{order.pk}/", {"status": "processing"}, format="json").status_code == 200
    )
    refused = client.patch(f"/api/orders/{order.pk}/", {"status": "shipped"}, format="json")
    assert_problem(refused, 409, "shipping_address_missing")
    given = put_address(client, order, ADDRESS, HTTP_IF_MATCH="*")
    assert given.json()["shipping_address_history"][0]["previous"] is None
    assert client.patch(f"/api/orders/{order.pk}/", {"status": "shipped"}, format="json").status_code == 200


def test_after_it_ships_the_address_is_locked(client_for, staff, alice, place, kettle, partner):
    order = place(alice, (kettle, 1))
    client = client_for(staff)
    for status in ("processing", "shipped"):
        client.patch(f"/api/orders/{order.pk}/", {"status": status}, format="json")
    problem = assert_problem(put_address(client, order, HTTP_IF_MATCH="*"), 409, "shipping_address_locked")
    assert problem["current_status"] == "shipped"
    cancelled = place(alice, (kettle, 1))
    client.patch(f"/api/orders/{cancelled.pk}/", {"status": "cancelled"}, format="json")
    assert_problem(put_address(client, cancelled, HTTP_IF_MATCH="*"), 409, "shipping_address_locked")


def test_only_staff_change_an_orders_address(client_for, alice, bob, place, kettle, anon):
    order = place(alice, (kettle, 1))
    for client in (client_for(alice), client_for(bob)):
        assert_problem(put_address(client, order, HTTP_IF_MATCH="*"), 403, "permission_denied")
    assert_problem(put_address(anon, order, HTTP_IF_MATCH="*"), 401, "not_authenticated")
    order.refresh_from_db()
    assert order.shipping_address.as_dict() == ADDRESS


def test_a_missing_order_is_404(client_for, staff):
    assert_problem(put_address(client_for(staff), Order(pk=999999), HTTP_IF_MATCH="*"), 404, "not_found")


def test_the_admin_shows_the_addresses_and_their_history(
    admin_client, client_for, staff, alice, place, kettle
):
    order = place(alice, (kettle, 1))
    assert put_address(client_for(staff), order, HTTP_IF_MATCH="*").status_code == 200
    page = admin_client.get(f"/admin/orders/order/{order.pk}/change/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "Charles Babbage, 1 Dorset Street, W1U 4EG London, United Kingdom" in text
    assert "Ada Lovelace, 12 St James&#x27;s Square" in text  # the copy it replaced
    saved(alice)
    assert admin_client.get("/admin/addresses/savedaddress/").status_code == 200
