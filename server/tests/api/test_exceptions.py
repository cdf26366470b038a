"""The DRF exception handler: nested serializer errors become field paths."""

from rest_framework import exceptions, serializers

from shop.api.exceptions import flatten_errors, problem_exception_handler


def test_it_flattens_nested_errors_into_paths():
    detail = serializers.ValidationError(
        {"items": [{}, {"quantity": ["Too many."]}], "non_field_errors": ["Bad."], "tags": {0: ["Empty."]}}
    ).detail
    assert [(e["field"], e["message"]) for e in flatten_errors(detail)] == [
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
