"""A writer that cannot reach Memcached does not drop its invalidation: it is recorded in the
database and delivered by the worker, after which every process reads the new data."""

import pytest

from config.settings.base import raising_cache
from shop.core.cache import deliver_invalidations
from shop.core.models import UndeliveredInvalidation
from shop.core.tasks import deliver_invalidations_task

pytestmark = [pytest.mark.memcached, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def writer_cut_off(settings):
    """This process's invalidation client points at a port where nothing listens; its reads
    still reach the real Memcached (as another process's would)."""
    unreachable = {**settings.CACHES["default"], "LOCATION": ["127.0.0.1:1"]}
    reachable = settings.CACHES["invalidation"]
    settings.CACHES = {**settings.CACHES, "invalidation": raising_cache(unreachable)}
    yield lambda: setattr(settings, "CACHES", {**settings.CACHES, "invalidation": reachable})


def test_an_undeliverable_invalidation_is_recorded_then_delivered(
    client_for, alice, staff, make_product, writer_cut_off
):
    product = make_product("Lamp", price="30.00")
    reader = client_for(alice)
    assert reader.get("/api/products/")["X-Cache"] == "MISS"
    assert reader.get("/api/products/")["X-Cache"] == "HIT"

    response = client_for(staff).patch(f"/api/products/{product.pk}/", {"price": "35.00"})
    assert response.status_code == 200
    pending = set(UndeliveredInvalidation.objects.values_list("key", flat=True))
    assert pending == {"catalog:products:version"}
    stale = reader.get("/api/products/")
    assert (stale["X-Cache"], stale.json()["results"][0]["price"]) == ("HIT", "30.00")  # not yet delivered

    recorded = UndeliveredInvalidation.objects.count()
    assert deliver_invalidations() == 0  # still cut off: kept for the next run
    assert UndeliveredInvalidation.objects.count() == recorded
    writer_cut_off()  # the worker (or this process again) reaches Memcached
    assert deliver_invalidations_task.apply().get() == recorded
    assert not UndeliveredInvalidation.objects.exists()
    fresh = reader.get("/api/products/")
    assert (fresh["X-Cache"], fresh.json()["results"][0]["price"]) == ("MISS", "35.00")


def test_an_order_cut_off_from_memcached_records_every_key_it_owed(
    client_for, alice, make_product, writer_cut_off
):
    from shop.orders.services import place_order

    lamp, desk = make_product("Lamp", stock=5), make_product("Desk", stock=5)
    reader = client_for(alice)
    reader.get(f"/api/products/{lamp.pk}/")
    place_order(user=alice, items=[{"product": lamp.pk, "quantity": 1}, {"product": desk.pk, "quantity": 2}])
    pending = set(UndeliveredInvalidation.objects.values_list("key", flat=True))
    assert {
        "catalog:stock:version",
        f"catalog:stock:{lamp.pk}:version",
        f"catalog:stock:{desk.pk}:version",
    } <= pending
    assert reader.get(f"/api/products/{lamp.pk}/").json()["stock"] == 5  # not yet delivered
    writer_cut_off()
    deliver_invalidations()
    fresh = reader.get(f"/api/products/{lamp.pk}/")
    assert (fresh["X-Cache"], fresh.json()["stock"]) == ("MISS", 4)
