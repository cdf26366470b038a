"""Reads of the catalog."""

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from .models import Product


def product_list() -> QuerySet[Product]:
    """Active products, by id unless a filter orders them otherwise."""
    return Product.objects.filter(is_active=True).order_by("id")


def product_get(*, product_id: int) -> Product:
    """The active product with that id; raises Http404 otherwise (retired products included)."""
    return get_object_or_404(Product, pk=product_id, is_active=True)
