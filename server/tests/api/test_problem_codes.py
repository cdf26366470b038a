"""Problem codes a client can switch on: the contract's `ProblemCode` enum is exactly the codes the
code can answer (a new one cannot ship undocumented), each has its status and meaning, and each
problem's `type` links to its page on the API's own host."""

from urllib.parse import urlsplit

import pytest

from shop.accounts.error_codes import AccountErrorCode
from shop.addresses.error_codes import AddressErrorCode
from shop.api.middleware import ResponseContractViolation
from shop.api.problems import problem_body
from shop.api.spec import HTTP_METHODS, documented_codes, resolve_ref, spec_document
from shop.core.error_codes import ApiErrorCode
from shop.orders.error_codes import OrderErrorCode
from tests.helpers import assert_problem

CODE_ENUMS = (AccountErrorCode, ApiErrorCode, AddressErrorCode, OrderErrorCode)


def problem_code_schema() -> dict:
    return spec_document()["components"]["schemas"]["ProblemCode"]


def test_the_contract_enumerates_exactly_the_codes_the_code_can_answer():
    in_code = {str(code) for enum in CODE_ENUMS for code in enum}
    in_spec = set(problem_code_schema()["enum"])
    assert in_spec - in_code == set(), "documented codes nothing answers"
    assert in_code - in_spec == set(), "codes the contract does not document"
    assert set(problem_code_schema()["x-problems"]) == in_spec


def test_every_problem_schema_uses_the_enum():
    schemas = spec_document()["components"]["schemas"]
    assert schemas["Problem"]["properties"]["code"] == {"$ref": "#/components/schemas/ExtensibleProblemCode"}
    assert schemas["ExtensibleProblemCode"]["anyOf"][0] == {"$ref": "#/components/schemas/ProblemCode"}


def test_each_code_has_a_status_and_a_meaning():
    for code, page in problem_code_schema()["x-problems"].items():
        assert 400 <= page["status"] <= 599, code
        assert len(page["description"]) > 20, code


def test_operations_list_only_known_codes():
    known = set(problem_code_schema()["enum"])
    listed = {
        code
        for item in spec_document()["paths"].values()
        for method, operation in item.items()
        if method in HTTP_METHODS
        for code in operation.get("x-problem-codes", ())
    }
    assert listed <= known
    assert {"insufficient_stock", "idempotency_key_reused", "invalid_status_transition"} <= listed


@pytest.mark.django_db
def test_a_problem_links_to_its_page_on_the_requests_host(client_for, alice):
    response = client_for(alice).get("/api/orders/999999/", HTTP_HOST="localhost")
    body = assert_problem(response, 404, "not_found")
    assert body["type"] == "http://localhost/problems/not_found"

    page = client_for(alice).get(urlsplit(body["type"]).path, HTTP_HOST="localhost")
    assert page.status_code == 200 and page["Content-Type"].startswith("text/html")
    text = page.content.decode()
    assert "No such resource, or not one the caller may see" in text
    assert "<code>404</code>" in text and "any operation" in text


def test_a_page_names_the_operations_that_answer_the_code(client):
    page = client.get("/problems/insufficient_stock")
    assert page.status_code == 200
    text = page.content.decode()
    assert "<code>createOrder</code>" in text and "<code>400</code>" in text
    assert "default-src 'none'" in page["Content-Security-Policy"]


def test_an_unknown_code_has_no_page(client):
    assert_problem(client.get("/problems/no_such_code"), 404, "not_found")
    # what is not a code at all is refused by the contract, like any other input
    assert_problem(client.get("/problems/not_found<script>"), 400, "validation_error")


def test_outside_a_request_the_type_uses_the_setting(settings):
    settings.PROBLEM_TYPE_BASE = "https://api.example.org/problems/"
    body = problem_body(status=400, code=OrderErrorCode.INSUFFICIENT_STOCK, detail="x")
    assert body["type"] == "https://api.example.org/problems/insufficient_stock"


def test_a_refused_host_still_gets_a_problem_with_a_type(client):
    response = client.get("/api/products/", HTTP_HOST="evil.example")
    body = assert_problem(response, 400, "bad_request")
    assert body["type"].endswith("/problems/bad_request")


def test_each_operation_documents_the_status_of_every_code_it_lists():
    """A code an operation names in `x-problem-codes` answers with its status: that status must be
    one of the operation's documented responses."""
    statuses = {code: page["status"] for code, page in problem_code_schema()["x-problems"].items()}
    missing = [
        f"{operation['operationId']}: {code} ({statuses[code]})"
        for item in spec_document()["paths"].values()
        for method, operation in item.items()
        if method in HTTP_METHODS
        for code in operation.get("x-problem-codes", ())
        if str(statuses[code]) not in operation["responses"]
    ]
    assert missing == []


def test_every_operation_documents_a_default_problem():
    operations = [
        operation
        for item in spec_document()["paths"].values()
        for method, operation in item.items()
        if method in HTTP_METHODS
    ]
    assert all(
        op["responses"].get("default") == {"$ref": "#/components/responses/Unexpected"} for op in operations
    )


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("get", "/api/auth/me/", None),
        ("post", "/api/auth/refresh/", {"refresh": "not-a-token"}),
        ("post", "/api/orders/", {"items": [{"product": 1, "quantity": 1}]}),
    ],
)
def test_every_401_says_how_to_authenticate(anon, method, path, body):
    response = getattr(anon, method)(path, body, format="json")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'  # RFC 9110 section 15.5.2


def test_every_documented_401_has_the_header():
    spec = spec_document()
    responses = spec["components"]["responses"]
    for item in spec["paths"].values():
        for method, operation in item.items():
            if method not in HTTP_METHODS or "401" not in operation["responses"]:
                continue
            response = operation["responses"]["401"]
            if "$ref" in response:
                response = responses[response["$ref"].rsplit("/", 1)[1]]
            assert "WWW-Authenticate" in response.get("headers", {}), operation["operationId"]


def documented_problem_responses():
    for template, item in spec_document()["paths"].items():
        for method, operation in item.items():
            if method not in HTTP_METHODS:
                continue
            for status, response in operation["responses"].items():
                if status.startswith(("4", "5")) and "application/problem+json" in resolve_ref(response).get(
                    "content", {}
                ):
                    yield template, method, operation["operationId"], int(status)


def test_every_documented_error_names_its_codes_with_their_status():
    """Each 4xx/5xx an operation documents names the codes it can carry (`code` in its description),
    and each named code answers with that status: a client reading one response knows every code."""
    statuses = {
        code: {page["status"], *page.get("other_statuses", ())}
        for code, page in problem_code_schema()["x-problems"].items()
    }
    unnamed, wrong = [], []
    for template, method, operation_id, status in documented_problem_responses():
        codes = documented_codes(template, method, status)
        if not codes:
            unnamed.append(f"{operation_id} {status}")
        wrong += [
            f"{operation_id} {status}: {code} ({statuses[code]})"
            for code in codes
            if status not in statuses[code]
        ]
    assert unnamed == [] and wrong == []


def test_each_rule_of_an_operation_is_documented_on_its_status():
    missing = [
        f"{operation['operationId']}: {code}"
        for template, item in spec_document()["paths"].items()
        for method, operation in item.items()
        if method in HTTP_METHODS
        for code in operation.get("x-problem-codes", ())
        if code not in documented_codes(template, method, problem_code_schema()["x-problems"][code]["status"])
    ]
    assert missing == []


def test_every_rule_of_the_domain_is_some_operations():
    """A business rule's code (the domain enums) is raised by an operation: the one that lists it."""
    listed = {
        code
        for item in spec_document()["paths"].values()
        for op in item.values()
        if isinstance(op, dict)
        for code in op.get("x-problem-codes", ())
    }
    assert {str(code) for code in OrderErrorCode} <= listed


@pytest.mark.django_db
def test_a_code_the_operation_does_not_document_is_caught(client_for, alice, monkeypatch):
    """Response validation (tests, CI, DEBUG) refuses a problem whose code the operation does not
    document for its status, so every raise site a test reaches is checked against the contract:
    here a product read answering another operation's rule."""
    from shop.catalog import views
    from shop.core.errors import Conflict

    def conflicting(**kwargs):
        raise Conflict("Cannot.", code=OrderErrorCode.INVALID_STATUS_TRANSITION)

    monkeypatch.setattr(views, "product_get", conflicting)
    with pytest.raises(ResponseContractViolation, match="'invalid_status_transition' is not documented"):
        client_for(alice).get("/api/products/1/")


def test_a_code_with_two_statuses_shows_both(client):
    text = client.get("/problems/token_not_valid").content.decode()
    assert "<code>401</code>, <code>400</code>" in text
