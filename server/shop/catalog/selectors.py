"""Reads of the catalog."""

from django.db.models import QuerySet

from shop.core.error_codes import ApiErrorCode
from shop.core.errors import NotFound

from .models import Product


def product_list() -> QuerySet[Product]:
    """Active products, by id unless a filter orders them otherwise."""
    return Product.objects.filter(is_active=True).order_by("id")


def product_not_found() -> NotFound:
    return NotFound("No such product.", code=ApiErrorCode.NOT_FOUND)


def product_get(*, product_id: int) -> Product:
    """The active product with that id; raises NotFound otherwise (retired products included)."""
    product = Product.objects.filter(pk=product_id, is_active=True).first()
    if product is None:
        raise product_not_found()
    return product
