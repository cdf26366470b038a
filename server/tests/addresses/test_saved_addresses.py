"""A customer's saved addresses (`/api/addresses/`): only their own, one default, at most 20."""

import pytest

from shop.addresses.models import MAX_SAVED_ADDRESSES, SavedAddress
from tests.helpers import ADDRESS, assert_problem, race

pytestmark = pytest.mark.django_db

HOME = {**ADDRESS, "name": "Alice Home", "line1": "1 Home Lane"}
WORK = {**ADDRESS, "name": "Alice Work", "line1": "2 Office Park", "region": "Greater London"}


def save(client, address=HOME, **extra):
    return client.post("/api/addresses/", {"address": address, **extra}, format="json")


def listed(client) -> list[tuple[str, bool]]:
    response = client.get("/api/addresses/")
    assert response.status_code == 200
    return [(item["address"]["name"], item["is_default"]) for item in response.json()["results"]]


def test_the_first_address_is_the_default_and_a_new_default_takes_over(alice_client):
    first = save(alice_client)
    assert first.status_code == 201
    body = first.json()
    assert first["Location"] == f"/api/addresses/{body['id']}/"
    assert body["address"] == HOME and body["is_default"] is True
    assert save(alice_client, WORK).json()["is_default"] is False
    assert listed(alice_client) == [("Alice Home", True), ("Alice Work", False)]

    other = save(alice_client, {**WORK, "name": "Alice Parents"}, is_default=True).json()
    assert listed(alice_client) == [("Alice Parents", True), ("Alice Work", False), ("Alice Home", False)]
    made_default = alice_client.patch(f"/api/addresses/{body['id']}/", {"is_default": True}, format="json")
    assert made_default.status_code == 200 and made_default.json()["is_default"] is True
    assert listed(alice_client)[0] == ("Alice Home", True)
    assert SavedAddress.objects.filter(is_default=True).count() == 1
    assert (
        alice_client.patch(f"/api/addresses/{body['id']}/", {"is_default": False}, format="json").status_code
        == 200
    )
    assert all(not default for _, default in listed(alice_client))
    assert alice_client.get(f"/api/addresses/{other['id']}/").json()["address"]["name"] == "Alice Parents"


def test_an_address_is_changed_whole_and_deleted(alice_client):
    saved = save(alice_client).json()
    changed = alice_client.patch(f"/api/addresses/{saved['id']}/", {"address": WORK}, format="json")
    assert changed.status_code == 200
    assert changed.json()["address"] == WORK and changed.json()["is_default"] is True
    assert alice_client.delete(f"/api/addresses/{saved['id']}/").status_code == 204
    assert listed(alice_client) == []
    assert_problem(alice_client.get(f"/api/addresses/{saved['id']}/"), 404, "not_found")


def test_another_customers_address_does_not_exist_for_them(client_for, alice, bob, staff):
    saved = save(client_for(alice)).json()
    url = f"/api/addresses/{saved['id']}/"
    for intruder in (bob, staff):
        client = client_for(intruder)
        assert_problem(client.get(url), 404, "not_found")
        assert_problem(client.patch(url, {"address": WORK}, format="json"), 404, "not_found")
        assert_problem(client.patch(url, {"is_default": False}, format="json"), 404, "not_found")
        assert_problem(client.delete(url), 404, "not_found")
        assert listed(client) == []
    assert SavedAddress.objects.get().as_dict() == HOME


def test_anonymous_callers_are_refused(anon):
    assert_problem(anon.get("/api/addresses/"), 401, "not_authenticated")
    assert_problem(save(anon), 401, "not_authenticated")


@pytest.mark.parametrize(
    ("address", "field"),
    [
        ({**HOME, "country": "ZZ"}, "country"),
        ({**HOME, "country": "gb"}, "country"),
        ({**HOME, "name": " Ada"}, "name"),
        ({**HOME, "line1": "1 Lane\u0000"}, "line1"),
        ({**HOME, "postal_code": "SW1Y\n4JH"}, "postal_code"),
        ({**HOME, "phone": "call me"}, "phone"),
        ({key: value for key, value in HOME.items() if key != "city"}, "city"),
        ({**HOME, "extra": "field"}, None),
    ],
)
def test_a_malformed_address_is_refused_naming_the_field(alice_client, address, field):
    problem = assert_problem(save(alice_client, address), 400, "validation_error")
    if field is not None:
        assert any(error["field"].endswith(field) for error in problem["errors"]), problem
    assert not SavedAddress.objects.exists()


def test_optional_parts_may_be_left_out(alice_client):
    minimal = {key: HOME[key] for key in ("name", "line1", "city", "postal_code", "country")}
    saved = save(alice_client, minimal)
    assert saved.status_code == 201
    assert saved.json()["address"] == {**minimal, "line2": "", "region": "", "phone": ""}


def test_an_account_keeps_at_most_twenty(alice_client, alice):
    SavedAddress.objects.bulk_create(
        SavedAddress(user=alice, **{**HOME, "name": f"Address {n}"}) for n in range(MAX_SAVED_ADDRESSES)
    )
    assert_problem(save(alice_client), 409, "address_limit_reached")
    assert SavedAddress.objects.count() == MAX_SAVED_ADDRESSES
    assert len(alice_client.get("/api/addresses/").json()["results"]) == MAX_SAVED_ADDRESSES


@pytest.mark.django_db(transaction=True)
def test_concurrent_saves_never_pass_the_limit_nor_make_two_defaults(client_for, alice):
    """PostgreSQL: the account's row is locked while it is counted, and at most one default can
    exist (a partial unique index)."""
    SavedAddress.objects.bulk_create(
        SavedAddress(user=alice, **{**HOME, "name": f"Address {n}"}) for n in range(MAX_SAVED_ADDRESSES - 2)
    )
    clients = [client_for(alice) for _ in range(6)]
    answers = race(
        [lambda client=client: save(client, WORK, is_default=True).status_code for client in clients]
    )
    assert sorted(answers) == [201, 201, 409, 409, 409, 409]
    assert SavedAddress.objects.count() == MAX_SAVED_ADDRESSES
    assert SavedAddress.objects.filter(is_default=True).count() == 1
