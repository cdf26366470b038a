"""CORS for the configured browser front-ends (django-cors-headers): a preflight from an allowed
origin is answered with what the API takes, an answer to it exposes the headers a client needs,
and any other origin gets no CORS header at all: its page cannot read a thing."""

import pytest

from tests.helpers import assert_problem

pytestmark = pytest.mark.django_db

SHOP = "https://shop.example"


@pytest.fixture(autouse=True)
def _allowed(settings):
    settings.CORS_ALLOWED_ORIGINS = [SHOP]


def preflight(client, path: str, origin: str, method: str = "POST", headers: str = "authorization"):
    return client.options(
        path,
        HTTP_ORIGIN=origin,
        HTTP_ACCESS_CONTROL_REQUEST_METHOD=method,
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS=headers,
    )


def test_an_allowed_origins_preflight_names_what_the_api_takes(anon):
    asked = "authorization, content-type, idempotency-key, if-match, if-none-match"
    response = preflight(anon, "/api/orders/", SHOP, headers=asked)
    assert response.status_code == 200 and response.content == b""
    assert response["Access-Control-Allow-Origin"] == SHOP
    allowed = {name.strip() for name in response["Access-Control-Allow-Headers"].split(",")}
    assert {"authorization", "content-type", "idempotency-key", "if-match", "if-none-match"} <= allowed
    assert {"GET", "POST", "PATCH", "PUT", "DELETE"} <= set(
        response["Access-Control-Allow-Methods"].split(", ")
    )
    assert "Access-Control-Allow-Credentials" not in response  # bearer tokens, never cookies


def test_an_answer_to_an_allowed_origin_exposes_the_headers_a_client_reads(client_for, alice, lamp):
    client = client_for(alice)
    placed = client.post(
        "/api/orders/",
        {"items": [{"product": lamp.pk, "quantity": 1}]},
        HTTP_ORIGIN=SHOP,
        HTTP_IDEMPOTENCY_KEY="cors-1",
    )
    assert placed.status_code == 201
    assert placed["Access-Control-Allow-Origin"] == SHOP
    exposed = set(placed["Access-Control-Expose-Headers"].split(", "))
    assert exposed == {"ETag", "X-Request-ID", "Idempotent-Replayed", "Retry-After", "Location"}
    assert "Origin" in placed["Vary"] or "origin" in placed["Vary"]
    refused = client.get("/api/products/?page_size=abc", HTTP_ORIGIN=SHOP)  # a problem is readable too
    assert_problem(refused, 400, "validation_error")
    assert refused["Access-Control-Allow-Origin"] == SHOP


@pytest.mark.parametrize("origin", ["https://evil.example", "https://shop.example.evil.example", "null"])
def test_any_other_origin_gets_no_cors_header(anon, client_for, alice, origin):
    response = preflight(anon, "/api/orders/", origin)
    assert not [name for name in response.headers if name.lower().startswith("access-control-")]
    read = client_for(alice).get("/api/products/", HTTP_ORIGIN=origin)
    assert read.status_code == 200
    assert not [name for name in read.headers if name.lower().startswith("access-control-")]


def test_no_origin_is_allowed_unless_configured(anon, settings):
    settings.CORS_ALLOWED_ORIGINS = []
    response = preflight(anon, "/api/orders/", SHOP)
    assert "Access-Control-Allow-Origin" not in response


def test_only_the_api_answers_other_origins(anon):
    response = anon.get("/admin/login/", HTTP_ORIGIN=SHOP)
    assert "Access-Control-Allow-Origin" not in response
