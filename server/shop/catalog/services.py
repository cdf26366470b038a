"""Writes on the catalog. Stock changes made by orders live in `shop.orders.services`."""

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import F

from shop.core.errors import FieldCode, FieldError, InvalidInput

from .models import Product
from .selectors import product_not_found


def _active_product_for_update(product_id: int) -> Product:
    product = Product.objects.select_for_update().filter(pk=product_id, is_active=True).first()
    if product is None:
        raise product_not_found()
    return product


@transaction.atomic
def create_product(*, name: str, price: Decimal, stock: int, category: str, description: str = "") -> Product:
    product = Product(name=name, description=description, price=price, stock=stock, category=category)
    product.full_clean()
    product.save()
    return product


@transaction.atomic
def update_product(
    *, product_id: int, data: dict[str, Any], precondition: Callable[[Product], None] | None = None
) -> Product:
    """Changes the given fields of an active product, under a row lock so that a concurrent
    order's stock decrement is never overwritten. `precondition(product)` runs under the lock,
    before any change (the API checks `If-Match` there) and may refuse by raising."""
    product = _active_product_for_update(product_id)
    if precondition is not None:
        precondition(product)
    for field, value in data.items():
        setattr(product, field, value)
    product.full_clean()
    product.save(update_fields=[*data, "updated_at"])
    return product


@transaction.atomic
def retire_product(*, product_id: int, precondition: Callable[[Product], None] | None = None) -> None:
    """Soft-deletes: the product leaves the catalog; orders that contain it stay intact.
    Raises NotFound when there is no active product with that id; `precondition` as in
    `update_product`."""
    product = _active_product_for_update(product_id)
    if precondition is not None:
        precondition(product)
    product.is_active = False
    product.save(update_fields=["is_active", "updated_at"])


@transaction.atomic
def edit_product(*, product_id: int, data: dict[str, Any], stock_change: int = 0) -> Product:
    """The Django admin's save: writes only the fields the form changed, and moves the stock by
    `stock_change` units from what it is now, under the row lock. Never an absolute stock read
    when the form was opened: units sold since then stay sold. Raises InvalidInput when the change
    would take the stock below zero."""
    product = Product.objects.select_for_update().get(pk=product_id)
    if product.stock + stock_change < 0:
        message = f"Only {product.stock} units are in stock now: {-stock_change} cannot be removed."
        raise InvalidInput([FieldError.at("stock_change", FieldCode.INSUFFICIENT_STOCK, message)])
    for field, value in data.items():
        setattr(product, field, value)
    product.full_clean()
    if stock_change:
        product.stock = F("stock") + stock_change
    product.save(update_fields=[*data, *(["stock"] if stock_change else []), "updated_at"])
    product.refresh_from_db(fields=["stock"])
    return product
