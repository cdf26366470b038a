"""The exception handler: nested serializer errors become field paths, each kind of domain error
its status, a model's full_clean() failure a validation problem."""

import json

import pytest
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import exceptions, serializers

from shop.api.exceptions import flatten_errors, problem_exception_handler
from shop.catalog.models import Product
from shop.core import errors
from shop.core.error_codes import ApiErrorCode


def test_it_flattens_nested_errors_into_paths():
    detail = serializers.ValidationError(
        {"items": [{}, {"quantity": ["Too many."]}], "non_field_errors": ["Bad."], "tags": {0: ["Empty."]}}
    ).detail
    assert [(e.field, e.message) for e in flatten_errors(detail)] == [
        ("items[1].quantity", "Too many."),
        ("non_field_errors", "Bad."),
        ("tags[0]", "Empty."),
    ]


def test_it_maps_drf_exceptions_with_their_headers():
    throttled = problem_exception_handler(exceptions.Throttled(wait=12), {})
    assert throttled.status_code == 429 and throttled["Retry-After"] == "12"
    failed = exceptions.AuthenticationFailed()
    failed.auth_header = 'Bearer realm="api"'
    response = problem_exception_handler(failed, {})
    assert response.status_code == 401 and response["WWW-Authenticate"] == 'Bearer realm="api"'
    assert problem_exception_handler(exceptions.NotAcceptable(), {}).status_code == 406


def test_it_leaves_unexpected_exceptions_to_the_500_handler():
    assert problem_exception_handler(RuntimeError("boom"), {}) is None


def test_the_500_handler_answers_problem_json(rf):
    from shop.api.views import server_error

    response = server_error(rf.get("/api/orders/"))
    assert response.status_code == 500
    assert response["Content-Type"] == "application/problem+json"
    assert b'"code": "server_error"' in response.content


@pytest.mark.parametrize(
    ("kind", "status"),
    [
        (errors.DomainError, 400),
        (errors.Unauthenticated, 401),
        (errors.Forbidden, 403),
        (errors.NotFound, 404),
        (errors.Conflict, 409),
        (errors.Unprocessable, 422),
    ],
)
def test_each_kind_of_domain_error_has_one_status(kind, status):
    response = problem_exception_handler(kind("No.", code=ApiErrorCode.NOT_FOUND, extra_member=1), {})
    body = json.loads(response.content)
    assert (response.status_code, body["status"], body["code"], body["extra_member"]) == (
        status,
        status,
        "not_found",
        1,
    )


@pytest.mark.django_db
def test_a_full_clean_failure_is_a_validation_problem():
    with pytest.raises(DjangoValidationError) as raised:
        Product(name="", price="1.00", stock=1, category="nonsense").full_clean()
    response = problem_exception_handler(raised.value, {})
    body = json.loads(response.content)
    assert (response.status_code, body["code"]) == (400, "validation_error")
    assert {error["field"] for error in body["errors"]} == {"name", "category"}
    assert body["detail"] == f"The request has {len(body['errors'])} invalid field(s)."
