"""Which contract path a request's path is: concrete paths by a lookup and before templated ones
(as OpenAPI matches them), templated ones by their regular expression, with their parameters."""

import re

import pytest

from shop.api.spec import spec_document
from shop.api.spec_routes import match_route, spec_routes


def scanned(path: str):
    """The answer of the plain scan: concrete paths first, then every template in order."""
    routes = sorted(spec_routes(), key=lambda route: "{" in route.template)
    for route in routes:
        if match := route.regex.match(path):
            return route, match.groupdict()
    return None


def test_every_path_of_the_contract_is_matched_by_itself():
    templates = list(spec_document()["paths"])
    assert [route.template for route in spec_routes()] == templates
    for template in templates:
        concrete = re.sub(r"\{(\w+)\}", "12", template)
        route, params = match_route(concrete)
        assert route.template == template
        assert params == {name: "12" for name in re.findall(r"\{(\w+)\}", template)}


@pytest.mark.parametrize(
    "path",
    [
        "/api/products/",
        "/api/products",
        "/api/products/7/",
        "/api/products/7",
        "/api/products/7/extra/",
        "/api/orders/0/shipping-address/",
        "/api/orders/abc/report/",
        "/api/admin/orders/export.csv",
        "/api/admin/orders/export.csvx",
        "/problems/not_found",
        "/problems/",
        "/bench/ceiling",
        "/",
        "",
        "/API/products/",
        "/api/products/%2F/",
        "/api/products/ /",
    ],
)
def test_it_answers_what_a_scan_of_every_route_answers(path):
    assert match_route(path) == scanned(path)


def test_a_path_that_is_no_route_is_none():
    assert match_route("/bench/ceiling") is None
    assert match_route("/api/products") is None  # no trailing slash: not the contract's path
