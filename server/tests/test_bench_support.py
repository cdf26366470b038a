"""The benchmark's ceiling view and its data loader."""

import pytest
from django.core.management import call_command
from django.test import override_settings
from django.urls import clear_url_caches

from shop.catalog.models import Product
from shop.orders.models import Order


@pytest.fixture
def ceiling_routed(settings):
    import importlib

    import config.urls

    settings.BENCH_CEILING = True
    clear_url_caches()
    importlib.reload(config.urls)
    yield
    settings.BENCH_CEILING = False
    clear_url_caches()
    importlib.reload(config.urls)


def test_the_ceiling_answers_a_cached_body_without_auth(ceiling_routed, anon):
    first = anon.get("/bench/ceiling")
    second = anon.get("/bench/ceiling")
    assert first.status_code == second.status_code == 200
    assert second.content == b'{"status": "ok"}'


def test_the_ceiling_is_not_routed_by_default(anon):
    with override_settings(BENCH_CEILING=False):
        assert anon.get("/bench/ceiling").status_code == 404


@pytest.mark.django_db
def test_it_loads_products_and_orders(alice):
    call_command("seed_bench", products=250, orders=5)
    assert Product.objects.count() == 250
    assert Order.objects.filter(user=alice).count() == 5
