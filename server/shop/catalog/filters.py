"""Filters and orderings of the product list (django-filter)."""

import django_filters

from .models import Category, Product


class StableOrderingFilter(django_filters.OrderingFilter):
    """Orders by the requested key, then by id in the same direction, so that pages never overlap
    or skip rows and one index on (key, id) serves both directions (read backwards for `-key`)."""

    def filter(self, qs, value):
        qs = super().filter(qs, value)
        if not value:
            return qs
        descending = str(qs.query.order_by[-1]).startswith("-")
        return qs.order_by(*qs.query.order_by, "-id" if descending else "id")


class ProductFilter(django_filters.FilterSet):
    category = django_filters.ChoiceFilter(choices=Category.choices)
    min_price = django_filters.NumberFilter(field_name="price", lookup_expr="gte")
    max_price = django_filters.NumberFilter(field_name="price", lookup_expr="lte")
    search = django_filters.CharFilter(field_name="name", lookup_expr="icontains")
    ordering = StableOrderingFilter(fields=("price", "name", "created_at"))

    class Meta:
        model = Product
        fields = ["category", "min_price", "max_price", "search"]
