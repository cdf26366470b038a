"""No way around the contract: a `SCRIPT_NAME` prefix, a repeated parameter or an input too large
to remember changes nothing about what is validated, and a request that reaches an `/api/` view
without a verdict is refused, never let through."""

import pytest

from shop.api import contract_requests, middleware
from shop.api.contract_requests import MEMO_MAX_INPUT
from shop.api.middleware import UncheckedApiRequest
from shop.orders.models import Order
from tests.helpers import assert_problem

pytestmark = pytest.mark.django_db


def test_it_validates_what_django_routes_whatever_the_script_name(alice_client, lamp):
    # gunicorn strips a trusted proxy's SCRIPT_NAME from the path: Django routes on the rest.
    body = {"items": [{"product": lamp.pk, "quantity": 1}], "gift": True}
    response = alice_client.post("/api/orders/", body, format="json", SCRIPT_NAME="/x")
    assert_problem(response, 400, "validation_error")
    assert not Order.objects.exists()
    response = alice_client.get("/api/products/", {"page": "abc"}, SCRIPT_NAME="/x")
    assert_problem(response, 400, "validation_error")


def test_a_client_script_name_never_reaches_links_that_are_cached_for_everyone(alice_client, make_product):
    for n in range(25):
        make_product(f"Mug {n}", price="5.00", stock=1, category="home")
    page = alice_client.get("/api/products/", SCRIPT_NAME="/evil").json()
    assert page["next"] == "/api/products/?page=2"


@pytest.mark.parametrize(
    ("path", "query"),
    [
        ("/api/products/", "page=1&page=abc"),
        ("/api/products/", "page=1&page=10000000000000000000000"),
        ("/api/products/", "category=home&category=books"),
        ("/api/orders/", "page=1&page=abc"),
    ],
)
def test_a_parameter_sent_twice_is_refused_naming_it(alice_client, path, query):
    body = assert_problem(alice_client.get(f"{path}?{query}"), 400, "validation_error")
    name = query.split("=", 1)[0]
    assert body["errors"] == [{"field": name, "code": "repeated", "message": "Send this parameter once."}]


def test_staff_repeats_are_refused_too(client_for, staff):
    body = assert_problem(client_for(staff).get("/api/admin/orders/?page=1&page=0"), 400, "validation_error")
    assert [error["field"] for error in body["errors"]] == ["page"]


def test_unknown_parameters_are_ignored_even_repeated(alice_client, lamp):
    assert alice_client.get("/api/products/?zz=1&zz=2").status_code == 200


def test_only_short_inputs_are_remembered(alice_client, lamp):
    contract_requests._remembered_verdict.cache_clear()
    alice_client.get("/api/products/?search=lamp")
    assert contract_requests._remembered_verdict.cache_info().currsize == 1
    for n in range(5):
        long_search = f"{n}" + "x" * (MEMO_MAX_INPUT // 2)
        alice_client.get("/api/products/", {"search": long_search[:100], "zz": "y" * MEMO_MAX_INPUT})
        tag = '"' + "a" * MEMO_MAX_INPUT + f'{n}"'
        alice_client.get("/api/products/", HTTP_IF_NONE_MATCH=tag)
    assert contract_requests._remembered_verdict.cache_info().currsize == 1


def test_a_long_input_gets_the_same_verdict_as_a_short_one(alice_client, lamp):
    long_search = "x" * 101
    assert_problem(
        alice_client.get("/api/products/", {"search": long_search, "zz": "y" * 2000}), 400, "validation_error"
    )
    assert alice_client.get("/api/products/", {"search": "lamp", "zz": "y" * 2000}).status_code == 200


@pytest.fixture
def the_old_match_on_the_full_path(monkeypatch, settings):
    """The drift this guard exists for, as it shipped once: operations matched on the full path
    (SCRIPT_NAME + PATH_INFO) while Django routed on PATH_INFO alone."""
    settings.FORCE_SCRIPT_NAME = None
    monkeypatch.setattr(middleware, "routed_path", lambda request: request.path)


def test_a_request_that_reaches_an_api_view_unchecked_fails_loudly_in_tests(
    alice_client, the_old_match_on_the_full_path
):
    with pytest.raises(UncheckedApiRequest):
        alice_client.get("/api/orders/", SCRIPT_NAME="/x")


def test_in_production_it_is_a_500_problem_never_a_silent_pass(
    alice_client, the_old_match_on_the_full_path, settings, caplog
):
    settings.OPENAPI_VALIDATE_RESPONSES = False
    response = alice_client.get("/api/orders/", SCRIPT_NAME="/x")
    assert_problem(response, 500, "server_error")
    assert "event=unchecked_api_request path=/api/orders/" in caplog.text
