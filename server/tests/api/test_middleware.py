"""The OpenAPI validation middleware: every violation is problem details with the right status."""

import json

import pytest

from shop.api.middleware import ResponseContractViolation
from tests.helpers import assert_problem

pytestmark = pytest.mark.django_db


def test_it_answers_404_for_unknown_api_paths(anon):
    assert_problem(anon.get("/api/nothing-here/"), 404, "not_found")


def test_it_answers_404_problem_outside_the_api_too(anon):
    assert_problem(anon.get("/no-such-page"), 404, "not_found")


def test_it_answers_405_with_allow_for_undocumented_methods(anon):
    response = anon.delete("/api/auth/login/")
    assert_problem(response, 405, "method_not_allowed")
    assert response["Allow"] == "POST"


def test_it_requires_credentials_before_anything_else(anon):
    response = anon.get("/api/auth/me/")
    assert_problem(response, 401, "not_authenticated")
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_it_rejects_other_auth_schemes(anon):
    anon.credentials(HTTP_AUTHORIZATION="Basic YWxpY2U6cHc=")
    assert_problem(anon.get("/api/auth/me/"), 401, "not_authenticated")


def test_it_rejects_a_body_that_is_not_utf8(anon):
    response = anon.generic("POST", "/api/auth/login/", b"\xff\xfe\xfa{", content_type="application/json")
    assert_problem(response, 400, "parse_error")


@pytest.mark.parametrize("raw", [b"{", b'{"username": NaN}', b'{"username": "\\ud800", "password": "x"}'])
def test_it_rejects_bodies_that_are_not_storable_json(anon, raw):
    response = anon.generic("POST", "/api/auth/login/", raw, content_type="application/json")
    assert_problem(response, 400, "parse_error")


def test_it_answers_415_for_other_media_types(anon):
    response = anon.generic(
        "POST", "/api/auth/login/", b"username=a", content_type="application/x-www-form-urlencoded"
    )
    assert_problem(response, 415, "unsupported_media_type")


def test_it_accepts_a_charset_parameter(anon, alice):
    body = json.dumps({"username": "alice", "password": "s3cret-Passw0rd"})
    response = anon.generic("POST", "/api/auth/login/", body, content_type="application/json; charset=utf-8")
    assert response.status_code == 200


def test_it_names_missing_and_unexpected_fields(anon):
    response = anon.post("/api/auth/register/", {"username": "carol", "nickname": "c"})
    body = assert_problem(response, 400, "validation_error")
    fields = {error["field"] for error in body["errors"]}
    assert {"email", "password"} <= fields
    assert any("nickname" in error["message"] for error in body["errors"])


def test_it_requires_a_body(anon):
    response = anon.generic("POST", "/api/auth/login/", b"", content_type="application/json")
    body = assert_problem(response, 400, "validation_error")
    assert body["errors"][0]["field"] == "body"


def test_it_names_invalid_query_parameters(client_for, alice):
    response = client_for(alice).get("/api/products/?page_size=101&page=zero")
    body = assert_problem(response, 400, "validation_error")
    assert {"page_size", "page"} <= {error["field"] for error in body["errors"]}


@pytest.mark.parametrize("query", ["", "?", "?page=1&page_size=5"])
def test_a_query_string_is_parsed_only_when_there_is_one(client_for, alice, lamp, query, monkeypatch):
    """Without a query string a cached read builds no `QueryDict` (the empty one cost it 2 % of
    its CPU); with one, the contract judges what Django parsed."""
    from django.core.handlers.wsgi import WSGIRequest

    built = []
    get = WSGIRequest.GET
    monkeypatch.setattr(WSGIRequest, "GET", property(lambda request: built.append(1) or get.__get__(request)))
    client = client_for(alice)
    client.get(f"/api/products/{query}")  # a miss: the view's filters read the query
    built.clear()
    response = client.get(f"/api/products/{query}")
    assert (response.status_code, response["X-Cache"]) == (200, "HIT")
    assert response.json()["results"][0]["name"] == "Lamp"
    assert bool(built) is (query not in ("", "?"))
    assert_problem(client_for(alice).get("/api/products/?page_size=0"), 400, "validation_error")


def test_it_raises_on_a_response_that_breaks_the_contract(anon, monkeypatch):
    from shop.api import health

    def not_the_documented_shape(data):
        return health.HttpResponse(b"[]", content_type="application/json")

    monkeypatch.setattr(health, "JsonResponse", not_the_documented_shape)
    with pytest.raises(ResponseContractViolation, match="GET /healthz -> 200"):
        anon.get("/healthz")


def test_it_serves_the_spec_and_the_docs_offline(anon):
    spec = anon.get("/api/openapi.yaml")
    assert spec.status_code == 200
    assert spec["Content-Type"] == "application/yaml"
    assert spec.content.startswith(b"openapi: 3.1")
    for page in ("/api/docs/", "/api/redoc/"):
        html = anon.get(page).content.decode()
        assert "/api/openapi.yaml" in html
        assert "cdn" not in html.lower() and "fonts.googleapis" not in html


def test_every_missing_field_is_named_by_its_path(client_for, alice):
    response = client_for(alice).post("/api/orders/", {"items": [{"product": 1}, {}]})
    body = assert_problem(response, 400, "validation_error")
    assert sorted((e["field"], e["code"]) for e in body["errors"]) == [
        ("items[0].quantity", "required"),
        ("items[1].product", "required"),
        ("items[1].quantity", "required"),
    ]
    assert body["detail"] == "The request has 3 invalid field(s)."
