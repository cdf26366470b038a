"""Filters of the order lists (django-filter)."""

import django_filters

from shop.catalog.filters import StableOrderingFilter

from .models import Order, OrderStatus


class OrderFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=OrderStatus.choices)

    class Meta:
        model = Order
        fields = ["status"]


class AdminOrderFilter(OrderFilter):
    user = django_filters.NumberFilter(field_name="user_id")
    created_after = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")
    ordering = StableOrderingFilter(fields=("created_at", "total_price"))

    class Meta:
        model = Order
        fields = ["status", "user", "created_after", "created_before"]
