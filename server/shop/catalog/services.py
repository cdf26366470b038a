"""Writes on the catalog. Stock changes made by orders live in `shop.orders.services`."""

from decimal import Decimal
from typing import Any

from django.db import transaction
from django.shortcuts import get_object_or_404

from .models import Product


@transaction.atomic
def product_create(*, name: str, price: Decimal, stock: int, category: str, description: str = "") -> Product:
    product = Product(name=name, description=description, price=price, stock=stock, category=category)
    product.full_clean()
    product.save()
    return product


@transaction.atomic
def product_update(*, product_id: int, data: dict[str, Any]) -> Product:
    """Changes the given fields of an active product, under a row lock so that a concurrent
    order's stock decrement is never overwritten."""
    product = get_object_or_404(Product.objects.select_for_update(), pk=product_id, is_active=True)
    for field, value in data.items():
        setattr(product, field, value)
    product.full_clean()
    product.save(update_fields=[*data, "updated_at"])
    return product


@transaction.atomic
def product_retire(*, product_id: int) -> None:
    """Soft-deletes: the product leaves the catalog; orders that contain it stay intact.
    Raises Http404 when there is no active product with that id."""
    product = get_object_or_404(Product.objects.select_for_update(), pk=product_id, is_active=True)
    product.is_active = False
    product.save(update_fields=["is_active", "updated_at"])
