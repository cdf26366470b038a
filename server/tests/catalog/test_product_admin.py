"""The Django admin cannot undo a sale: saving a product writes only the fields the form changed,
and staff move the stock by a number of units from what it is when they save."""

import pytest

from shop.catalog.models import Product

pytestmark = pytest.mark.django_db


@pytest.fixture
def lamp(make_product):
    return make_product("Lamp", price="20.00", stock=20, category="home")


def change_form(product, **changes) -> dict:
    """What the change form posts when it was opened at the product as it is now."""
    form = {
        "name": product.name,
        "description": product.description,
        "price": str(product.price),
        "category": product.category,
        "is_active": "on" if product.is_active else "",
        "stock_change": "0",
    }
    return {**form, **changes}


def test_a_save_after_a_sale_keeps_the_units_sold(admin_client, lamp, place, alice):
    opened = change_form(lamp, name="Desk lamp")  # the form shows stock 20
    place(alice, (lamp, 3))  # meanwhile a customer buys 3
    response = admin_client.post(f"/admin/catalog/product/{lamp.pk}/change/", opened)
    assert response.status_code == 302
    lamp.refresh_from_db()
    assert (lamp.name, lamp.stock) == ("Desk lamp", 17)


def test_the_stock_moves_by_units_from_what_it_is_at_save(admin_client, lamp, place, alice):
    opened = change_form(lamp, stock_change="5")
    place(alice, (lamp, 3))
    admin_client.post(f"/admin/catalog/product/{lamp.pk}/change/", opened)
    lamp.refresh_from_db()
    assert lamp.stock == 22


def test_removing_more_than_is_in_stock_saves_nothing_and_says_why(admin_client, lamp):
    response = admin_client.post(
        f"/admin/catalog/product/{lamp.pk}/change/",
        change_form(lamp, name="Renamed", stock_change="-21"),
        follow=True,
    )
    assert "Only 20 units are in stock now" in response.content.decode()
    lamp.refresh_from_db()
    assert (lamp.name, lamp.stock) == ("Lamp", 20)


def test_the_stock_is_not_an_input_of_the_change_form(admin_client, lamp):
    page = admin_client.get(f"/admin/catalog/product/{lamp.pk}/change/").content.decode()
    assert 'name="stock"' not in page
    assert 'name="stock_change"' in page


def test_a_new_product_takes_its_stock(admin_client):
    form = {
        "name": "Mug",
        "description": "",
        "price": "5.00",
        "category": "home",
        "stock": "7",
        "is_active": "on",
    }
    assert admin_client.post("/admin/catalog/product/add/", form).status_code == 302
    assert Product.objects.get(name="Mug").stock == 7
