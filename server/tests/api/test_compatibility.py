"""Responses that can grow: the published contract lets a minor version add response fields and enum
values without breaking a strict generated client, requests stay closed, and our own responses are
still checked against a closed copy, so the server cannot send a field or a value the contract does
not name."""

import json
from collections.abc import Iterator
from typing import Any

import pytest
from openapi_core.testing import MockRequest, MockResponse
from openapi_core.validation.response.exceptions import InvalidData

from shop.api.middleware import ResponseContractViolation
from shop.api.spec import HTTP_METHODS, closed_openapi, openapi, resolve_ref, spec_document


def operations() -> Iterator[dict[str, Any]]:
    for item in spec_document()["paths"].values():
        for method, operation in item.items():
            if method in HTTP_METHODS:
                yield operation


def walk(schema: dict[str, Any], path: str, seen: set[str]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every schema node reachable from `schema`, with a readable path; `$ref`s followed once."""
    if "$ref" in schema:
        if schema["$ref"] in seen:
            return
        seen.add(schema["$ref"])
        path = schema["$ref"].rsplit("/", 1)[-1]
        schema = resolve_ref(schema)
    yield path, schema
    for key in ("anyOf", "oneOf", "allOf"):
        for index, alternative in enumerate(schema.get(key, [])):
            yield from walk(alternative, f"{path}.{key}[{index}]", seen)
    for name, child in schema.get("properties", {}).items():
        yield from walk(child, f"{path}.{name}", seen)
    for key in ("items", "additionalProperties"):
        if isinstance(schema.get(key), dict):
            yield from walk(schema[key], f"{path}.{key}", seen)


def response_schemas() -> Iterator[tuple[str, dict[str, Any]]]:
    seen: set[str] = set()
    for operation in operations():
        for status, response in operation["responses"].items():
            for content in resolve_ref(response).get("content", {}).values():
                if "schema" in content:
                    yield from walk(content["schema"], f"{operation['operationId']} {status}", seen)


def request_schemas() -> Iterator[tuple[str, dict[str, Any]]]:
    seen: set[str] = set()
    for operation in operations():
        for content in operation.get("requestBody", {}).get("content", {}).values():
            yield from walk(content["schema"], f"{operation['operationId']} body", seen)


def test_response_objects_take_fields_a_later_version_adds():
    closed = [path for path, schema in response_schemas() if schema.get("additionalProperties") is False]
    assert closed == []


def test_response_enums_are_extensible():
    """A set of values in a response is only ever reached through an `x-extensible-enum` schema, whose
    first alternative is the closed set of today's values and whose second takes any other string."""
    wrappers = set()
    for path, schema in response_schemas():
        if schema.get("x-extensible-enum"):
            known, other = schema["anyOf"]
            assert "enum" in resolve_ref(known) and other == {"type": "string", **other}, path
            wrappers.add(path)
    assert {"ExtensibleCategory", "ExtensibleOrderStatus", "ExtensibleProblemCode"} <= wrappers

    seen: set[str] = set()
    closed_sets = []
    for operation in operations():
        for status, response in operation["responses"].items():
            for content in resolve_ref(response).get("content", {}).values():
                # walk, but do not step into a wrapper's closed alternative
                for path, schema in walk_outside_wrappers(content["schema"], seen):
                    if len(schema.get("enum", ())) > 1:  # one value is a constant, not a set
                        closed_sets.append(f"{operation['operationId']} {status}: {path}")
    assert closed_sets == []


def walk_outside_wrappers(schema, seen) -> Iterator[tuple[str, dict[str, Any]]]:
    if "$ref" in schema:
        if schema["$ref"] in seen:
            return
        seen.add(schema["$ref"])
        schema = resolve_ref(schema)
    if schema.get("x-extensible-enum"):
        return
    yield "", schema
    for key in ("anyOf", "oneOf", "allOf"):
        for alternative in schema.get(key, []):
            yield from walk_outside_wrappers(alternative, seen)
    for name, child in schema.get("properties", {}).items():
        yield from ((f"{name}{path}", node) for path, node in walk_outside_wrappers(child, seen))
    for key in ("items", "additionalProperties"):
        if isinstance(schema.get(key), dict):
            yield from walk_outside_wrappers(schema[key], seen)


def test_requests_stay_closed():
    objects = [(path, schema) for path, schema in request_schemas() if "properties" in schema]
    assert objects, "no request objects found"
    assert [path for path, schema in objects if schema.get("additionalProperties") is not False] == []
    assert [path for path, schema in request_schemas() if schema.get("x-extensible-enum")] == []


PRODUCT = {
    "id": 1,
    "name": "Kettle",
    "description": "",
    "price": "30.00",
    "currency": "EUR",
    "stock": 3,
    "category": "home",
    "created_at": "2026-11-28T10:00:00Z",
    "updated_at": "2026-11-28T10:00:00Z",
}


def validate(spec, body: dict[str, Any]) -> None:
    request = MockRequest("http://testserver", "get", "/api/products/1/", path_pattern="/api/products/{id}/")
    spec.validate_response(request, MockResponse(json.dumps(body).encode(), headers={"ETag": '"1"'}))


# what a later 2.x may send: a field and a category this version does not know
GROWN = pytest.mark.parametrize(
    "grown",
    [{**PRODUCT, "weight_grams": 1200}, {**PRODUCT, "category": "garden"}],
    ids=["a new field", "a new category"],
)


@GROWN
def test_a_client_of_the_published_contract_accepts_what_a_minor_version_may_add(grown):
    validate(openapi(), PRODUCT)
    validate(openapi(), grown)


@GROWN
def test_our_own_responses_are_checked_against_the_closed_copy(grown):
    validate(closed_openapi(), PRODUCT)
    with pytest.raises(InvalidData, match=r"weight_grams|'garden' is not one of"):
        validate(closed_openapi(), grown)


@pytest.mark.django_db
def test_the_middleware_refuses_a_field_the_contract_does_not_name(
    client_for, alice, make_product, monkeypatch
):
    from shop.catalog import views

    original = views.product_representation

    def with_an_extra_field(product):
        body, etag = original(product)
        return json.dumps({**json.loads(body), "secret": "x"}).encode(), etag

    monkeypatch.setattr(views, "product_representation", with_an_extra_field)
    product = make_product()
    with pytest.raises(ResponseContractViolation, match="secret"):
        client_for(alice).get(f"/api/products/{product.id}/")
