"""The spec and the URLconf describe the same API: every route under /api/ has an operation in
openapi.yaml and every operation has a route and a view method."""

import re
from types import SimpleNamespace

from django.urls import URLPattern, URLResolver, get_resolver

from shop.api.spec import HTTP_METHODS, spec_document
from shop.api.views import documentation_paths

# What a browser asks for, not operations of the API: the pointer to the docs and the icon; and
# the operators' Prometheus endpoint (behind METRICS_TOKEN, kept out of the public contract).
NOT_OPERATIONS = {"/", "/favicon.ico", "/metrics"}


def _routes(resolver: URLResolver, prefix: str = ""):
    for entry in resolver.url_patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            yield from _routes(entry, route)
        elif isinstance(entry, URLPattern):
            yield "/" + route, entry.callback


def _normalize(path: str) -> str:
    return re.sub(r"<(?:\w+:)?\w+>|\{\w+\}", "{}", path)


def _view_methods(callback) -> set[str]:
    view_class = getattr(callback, "view_class", None) or getattr(callback, "cls", None)
    if view_class is None:  # a plain function view answers GET
        return {"get"}
    return {m for m in HTTP_METHODS if m not in ("options", "head") and hasattr(view_class, m)}


def _django_operations() -> set[tuple[str, str]]:
    operations = set()
    for path, callback in _routes(get_resolver()):
        if path.startswith("/admin/") or path in documentation_paths() or path in NOT_OPERATIONS:
            continue
        operations |= {(method, _normalize(path)) for method in _view_methods(callback)}
    return operations


def _spec_operations() -> set[tuple[str, str]]:
    return {
        (method, _normalize(path))
        for path, item in spec_document()["paths"].items()
        for method in item
        if method in HTTP_METHODS
    }


def test_every_route_has_an_operation_and_every_operation_a_route():
    django, spec = _django_operations(), _spec_operations()
    assert django - spec == set(), "routes missing from openapi.yaml"
    assert spec - django == set(), "operations without a route"


def test_the_spec_is_valid_openapi_31():
    from django.conf import settings
    from openapi_spec_validator import validate
    from openapi_spec_validator.readers import read_from_filename

    spec, _ = read_from_filename(str(settings.OPENAPI_SPEC_PATH))
    validate(spec)
    assert spec["openapi"].startswith("3.1")


def test_the_spec_has_no_duplicate_keys():
    """YAML keeps the last of two equal keys silently, and the validator cannot see it."""
    import yaml
    from django.conf import settings

    class StrictLoader(yaml.SafeLoader):
        pass

    def construct_mapping(loader, node, deep=False):
        keys = [loader.construct_object(key, deep=deep) for key, _ in node.value]
        duplicates = sorted({str(k) for k in keys if keys.count(k) > 1})
        assert not duplicates, f"duplicate keys {duplicates} at line {node.start_mark.line + 1}"
        return yaml.SafeLoader.construct_mapping(loader, node, deep)

    StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, construct_mapping)
    yaml.load(settings.OPENAPI_SPEC_PATH.read_text(), StrictLoader)


def _staff_only_in_code() -> set[tuple[str, str]]:
    """The operations whose view's permissions refuse an authenticated customer."""
    customer = SimpleNamespace(is_authenticated=True, is_staff=False)
    refused = set()
    for path, callback in _routes(get_resolver()):
        view_class = getattr(callback, "view_class", None) or getattr(callback, "cls", None)
        if view_class is None or not path.startswith("/api/") or path in documentation_paths():
            continue
        for method in _view_methods(callback):
            view = view_class()
            request = SimpleNamespace(method=method.upper(), user=customer)
            if not all(p.has_permission(request, view) for p in view.get_permissions()):
                refused.add((method, _normalize(path)))
    return refused


def test_the_staff_role_in_the_spec_is_what_the_permissions_enforce():
    in_spec = {
        (method, _normalize(path))
        for path, item in spec_document()["paths"].items()
        for method, operation in item.items()
        if method in HTTP_METHODS
        and any(
            "staff" in roles
            for requirement in operation.get("security", [])
            for roles in requirement.values()
        )
    }
    assert in_spec == _staff_only_in_code()
    assert len(in_spec) == 7
