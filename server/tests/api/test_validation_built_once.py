"""Request validation with openapi-core's validators built once per schema (shop/api/spec.py):
the same verdicts as openapi-core's stock configuration, and nothing built again on a repeat."""

import json

from openapi_core import Config, OpenAPI

from shop.api import spec
from shop.api.contract_requests import SpecRequest
from shop.api.problems import PROBLEM_CONTENT_TYPE

AUTH = (("Authorization", "Bearer <credentials>"),)


def get(path: str, pattern: str, query=(), **params) -> SpecRequest:
    return SpecRequest(
        method="get", path=path, path_pattern=pattern, path_params=params, query=query, headers=AUTH
    )


def post(path: str, body) -> SpecRequest:
    return SpecRequest(
        method="post",
        path=path,
        path_pattern=path,
        path_params={},
        query=(),
        headers=AUTH,
        body=json.dumps(body).encode(),
        content_type="application/json",
    )


REQUESTS = [
    get("/api/products/", "/api/products/", (("max_price", "10.99"), ("category", "books"))),
    get("/api/products/", "/api/products/", (("max_price", "x"), ("page_size", "0"), ("category", "cars"))),
    get("/api/products/", "/api/products/", (("ordering", "-price"), ("page", "2"), ("search", "lamp"))),
    get("/api/orders/12/", "/api/orders/{id}/", id="12"),
    get("/api/orders/-1/", "/api/orders/{id}/", id="-1"),
    get("/api/admin/orders/", "/api/admin/orders/", (("created_after", "yesterday"), ("user", "1e3"))),
    post("/api/orders/", {"items": [{"product": 1, "quantity": 2}]}),
    post("/api/orders/", {"items": [{"product": -1, "quantity": "2"}], "extra": True}),
    post("/api/orders/", {"items": []}),
    post("/api/products/", {"name": "Lamp", "price": "1.999", "stock": -1, "category": "home"}),
]


def verdicts(openapi: OpenAPI) -> list[list[str]]:
    return [
        [
            f"{type(e).__name__}: {e} / {getattr(e, '__cause__', None)!r}"
            for e in openapi.iter_request_errors(r)
        ]
        for r in REQUESTS
    ]


def test_the_same_verdicts_as_openapi_core_as_shipped():
    stock = OpenAPI.from_dict(
        spec.spec_document(), config=Config(extra_media_type_deserializers={PROBLEM_CONTENT_TYPE: json.loads})
    )
    ours = verdicts(spec.openapi())
    assert ours == verdicts(stock)
    assert ours == verdicts(spec.openapi())  # a repeat, from what was built
    assert sum(1 for found in ours if found) == 6  # the bad requests are refused


def test_a_repeat_builds_nothing_again():
    openapi = spec.openapi()
    validators = openapi.config.schema_validators_factory
    deserializers = openapi.config.style_deserializers_factory
    verdicts(openapi)
    built = (len(validators._built), len(deserializers._built))
    assert built[0] > 0 and built[1] > 0
    verdicts(openapi)
    assert (len(validators._built), len(deserializers._built)) == built


def test_another_openapi_version_keeps_openapi_cores_own_factories():
    document = {"openapi": "3.0.3", "info": {"title": "t", "version": "1"}, "paths": {}}
    assert spec._openapi(document).config.schema_validators_factory is None


def test_the_path_is_found_once_per_method_and_template(monkeypatch):
    finder = spec.openapi().request_validator.path_finder
    assert isinstance(finder, spec._RememberingPathFinder)
    finder._found.clear()
    walks = []
    walk = spec.APICallPathFinder.find
    monkeypatch.setattr(spec.APICallPathFinder, "find", lambda self, *a: walks.append(a) or walk(self, *a))
    first = verdicts(spec.openapi())
    assert verdicts(spec.openapi()) == first  # the same verdicts from what was remembered
    # one walk per (method, template) of REQUESTS: products, orders/{id}, admin/orders (GET);
    # orders, products (POST)
    assert len(walks) == 5
    assert sorted(finder._found) == sorted(walks)


def test_the_path_finder_remembers_a_bounded_number_and_not_what_is_missing(monkeypatch):
    openapi = spec._openapi(spec.spec_document())
    finder = openapi.request_validator.path_finder
    monkeypatch.setattr(finder, "REMEMBERED", 2)
    for path in ("/api/products/", "/api/orders/", "/api/orders/12/", "/api/orders/13/", "/api/nowhere/"):
        list(openapi.iter_request_errors(get(path, path)))
    assert [name for _, name in finder._found] == [
        "http://localhost/api/products/",
        "http://localhost/api/orders/",
    ]
    errors = list(openapi.iter_request_errors(get("/api/nowhere/", "/api/nowhere/")))
    assert [type(e).__name__ for e in errors] == ["PathNotFound"]


def test_a_repeat_resolves_no_place_of_the_spec_again(monkeypatch):
    openapi = spec._openapi(spec.spec_document())
    accessor = openapi.spec.accessor
    resolved = []
    resolve = accessor._path_resolver.resolve
    monkeypatch.setattr(
        accessor._path_resolver, "resolve", lambda node, parts: resolved.append(parts) or resolve(node, parts)
    )
    first = verdicts(openapi)
    walked = len(resolved)
    assert walked > 0
    assert verdicts(openapi) == first
    # Only what the spec does not say is looked for again (an optional field such as a
    # parameter's `deprecated`: openapi-core reads its default); every place that is there was
    # remembered.
    assert all(not _in_spec(openapi, parts) for parts in resolved[walked:])
    assert 0 < len(accessor._resolved_cache._cache) <= spec.RESOLVED_PLACES


def _in_spec(openapi, parts) -> bool:
    try:
        openapi.spec.accessor[parts]
    except (KeyError, IndexError, TypeError):
        return False
    return True


def test_hostile_requests_make_it_remember_only_places_of_the_spec():
    """What a client sends (unknown parameters, bodies of any shape, ever-new values) never becomes
    a remembered place: the memory holds the spec's own places, however many requests come."""
    openapi = spec._openapi(spec.spec_document())
    cache = openapi.spec.accessor._resolved_cache._cache

    def hostile(n: int) -> list[SpecRequest]:
        junk = {f"field{n}": [n, {"$ref": f"#/x{n}"}], "items": [{"product": f"p{n}", f"q{n}": None}] * 3}
        return [
            get(
                "/api/products/",
                "/api/products/",
                ((f"param{n}", "x" * n), ("category", f"c{n}"), ("page", "-1")),
            ),
            get(f"/api/orders/{n}x/", "/api/orders/{id}/", id=f"{n}x"),
            post("/api/orders/", junk),
            post("/api/products/", {**junk, "price": {"nested": n}}),
        ]

    for n in range(100):
        for request in hostile(n):
            list(openapi.request_validator.iter_errors(request))
    after_one_hundred = len(cache)
    assert after_one_hundred > 0
    for n in range(100, 300):
        for request in hostile(n):
            list(openapi.request_validator.iter_errors(request))
    assert len(cache) == after_one_hundred  # nothing new to remember
    assert all(_in_spec(openapi, parts) for parts, _generation in list(cache))
