"""Every API view of the project gets an `ApiRequest`: DRF's request with `method`, `META` and
the contract's query read directly from Django's request, not found through `__getattr__`."""

import pytest
from django.test import RequestFactory
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.request import Request
from rest_framework.views import APIView

from shop.api.base_views import ApiRequest, ApiRequestMixin
from shop.catalog.views import ProductListView

# Pages about the contract (drf-spectacular's), not operations of it.
NOT_OPERATIONS = {"SwaggerUIView", "RedocView"}


def routed_views(patterns=None, prefix=""):
    for entry in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(entry, URLResolver):
            yield from routed_views(entry.url_patterns, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern), getattr(entry.callback, "cls", None)


def test_every_drf_view_of_the_api_gets_an_api_request():
    views = {(route, cls) for route, cls in routed_views() if cls is not None and issubclass(cls, APIView)}
    operations = {(route, cls) for route, cls in views if cls.__name__ not in NOT_OPERATIONS}
    assert len(operations) >= 20  # the walk found the API's routes
    assert [route for route, cls in operations if not issubclass(cls, ApiRequestMixin)] == []


def test_the_api_request_reads_djangos_request():
    django_request = RequestFactory().get("/api/products/?page=2", HTTP_IF_NONE_MATCH='"x"')
    django_request.contract_query = (("page", "2"),)
    request = ProductListView().initialize_request(django_request)
    assert type(request) is ApiRequest
    assert request.method == "GET"
    assert request.META is django_request.META
    assert request.contract_query is django_request.contract_query
    assert request.query_params["page"] == "2"  # and the rest of DRF's request as ever
    for name in ("method", "META", "contract_query"):
        assert name not in Request.__dict__  # DRF would find it through __getattr__
        assert name in ApiRequest.__dict__


def test_a_request_the_contract_never_judged_has_no_contract_query():
    request = ProductListView().initialize_request(RequestFactory().get("/api/products/"))
    with pytest.raises(AttributeError):
        request.contract_query  # noqa: B018 - the access is the test


def test_a_cached_read_makes_no_access_through_drfs_getattr(monkeypatch, alice_client, lamp):
    """The accesses the base view exists to spare, counted on a real request: none is left but
    DRF's own test for an authenticated user (`_user`, once)."""
    alice_client.get("/api/products/")  # stored
    accessed = []
    getattr_ = Request.__getattr__
    monkeypatch.setattr(
        Request, "__getattr__", lambda self, name: accessed.append(name) or getattr_(self, name)
    )
    response = alice_client.get("/api/products/")
    assert (response.status_code, response["X-Cache"]) == (200, "HIT")
    assert accessed == ["_user"]
