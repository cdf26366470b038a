import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from shop.catalog.models import Category, Product


@pytest.mark.django_db
def test_it_loads_demo_data_once(capsys):
    call_command("seed_demo")
    call_command("seed_demo")
    out = capsys.readouterr().out
    assert "username=customer password=demo-customer-pass" in out
    assert set(Product.objects.values_list("category", flat=True)) == set(Category.values)
    assert Product.objects.count() == 16
    users = get_user_model().objects
    assert users.get(username="admin").is_staff
    assert users.get(username="customer").check_password("demo-customer-pass")


@pytest.mark.django_db
def test_it_runs_again_after_a_same_named_product_and_a_changed_demo_password(capsys):
    call_command("seed_demo")
    Product.objects.create(name="Mechanical keyboard", price="1.00", stock=1, category="electronics")
    customer = get_user_model().objects.get(username="customer")
    customer.set_password("changed-by-the-readme")
    customer.is_active = False
    customer.save()
    call_command("seed_demo")
    assert "the catalog already has products; none added" in capsys.readouterr().out
    assert Product.objects.count() == 17
    customer.refresh_from_db()
    assert customer.is_active and customer.check_password("demo-customer-pass")


@pytest.mark.django_db
def test_it_adds_no_demo_products_to_a_catalog_someone_started():
    Product.objects.create(name="Our own product", price="5.00", stock=1, category="home")
    call_command("seed_demo")
    assert list(Product.objects.values_list("name", flat=True)) == ["Our own product"]
