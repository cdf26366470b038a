"""The order detail cache: permission before any cached body, invalidation after commit."""

import pytest

from shop.invoices.models import Invoice
from shop.outbox.models import Entry
from tests.helpers import do_work

pytestmark = [pytest.mark.memcached, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def alices_order(place, alice, make_product):
    return place(alice, (make_product("Kettle", price="30.00", stock=5), 1))


def url(order) -> str:
    return f"/api/orders/{order.pk}/"


def not_made_yet(order) -> None:
    """Back to before the worker wrote the invoice (it ran in-process when the order committed)."""
    Invoice.objects.filter(order=order).delete()
    Entry.objects.filter(kind="invoice", object_id=order.pk).update(status="pending")


def test_the_owner_warms_the_cache_and_others_still_get_404(client_for, alice, bob, staff, alices_order):
    owner = client_for(alice)
    assert owner.get(url(alices_order))["X-Cache"] == "MISS"
    hit = owner.get(url(alices_order))
    assert hit["X-Cache"] == "HIT" and "private" in hit["Cache-Control"] and "Authorization" in hit["Vary"]
    other = client_for(bob).get(url(alices_order))
    assert other.status_code == 404 and b"Kettle" not in other.content
    admin = client_for(staff).get(url(alices_order))
    assert (admin.status_code, admin["X-Cache"]) == (200, "HIT")
    assert admin.content == hit.content


def test_a_hit_costs_no_query_at_all(client_for, alice, alices_order, django_assert_num_queries):
    client = client_for(alice)
    client.get(url(alices_order))  # caches the body, and the caller's user row
    with django_assert_num_queries(0):
        assert client.get(url(alices_order))["X-Cache"] == "HIT"


def test_a_status_change_shows_at_once(client_for, alice, staff, alices_order):
    client = client_for(alice)
    client.get(url(alices_order))
    client_for(staff).patch(url(alices_order), {"status": "processing"})
    response = client.get(url(alices_order))
    assert response["X-Cache"] == "MISS"
    assert response.json()["status"] == "processing"
    assert [h["to_status"] for h in response.json()["status_history"]] == ["pending", "processing"]


def test_the_invoice_shows_at_once(client_for, alice, alices_order):
    not_made_yet(alices_order)
    client = client_for(alice)
    assert client.get(url(alices_order)).json()["report_url"] is None
    do_work(alices_order, "invoice")
    assert client.get(url(alices_order)).json()["report_url"] == f"/api/orders/{alices_order.pk}/report/"


def test_a_read_while_the_invoice_is_being_made_is_not_cached_past_it(
    client_for, alice, alices_order, monkeypatch
):
    from shop.invoices import services

    not_made_yet(alices_order)
    client = client_for(alice)
    real_render = services.render_invoice

    def render_while_someone_reads(order):
        assert client.get(url(alices_order)).json()["report_url"] is None  # cached mid-render
        return real_render(order)

    monkeypatch.setattr(services, "render_invoice", render_while_someone_reads)
    do_work(alices_order, "invoice")
    assert client.get(url(alices_order)).json()["report_url"] == f"/api/orders/{alices_order.pk}/report/"


def test_ttl_is_honoured(client_for, alice, alices_order, settings):
    import time

    settings.ORDER_DETAIL_CACHE_TTL = 2
    client = client_for(alice)
    client.get(url(alices_order))
    assert client.get(url(alices_order))["X-Cache"] == "HIT"
    time.sleep(3.1)
    assert client.get(url(alices_order))["X-Cache"] == "MISS"


def test_memcached_down_still_answers(client_for, alice, alices_order, settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "shop.core.memcached.FailOpenPyMemcacheCache",
            "LOCATION": "127.0.0.1:1",
            "OPTIONS": {"ignore_exc": True, "connect_timeout": 0.2, "timeout": 0.2},
        }
    }
    client = client_for(alice)
    responses = [client.get(url(alices_order)) for _ in range(2)]
    assert [(r.status_code, r["X-Cache"]) for r in responses] == [(200, "MISS")] * 2
