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
