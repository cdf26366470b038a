"""Filters of the order lists (django-filter)."""

from datetime import UTC, datetime

import django_filters

from shop.catalog.filters import StableOrderingFilter

from .models import Order, OrderStatus
from .search import search_orders


class UTCDateTimeFilter(django_filters.IsoDateTimeFilter):
    """RFC 3339 allows offsets up to ±23:59, PostgreSQL only ±15:59: compare in UTC. An instant
    beyond the calendar once in UTC (year 0 or 10000) is clamped to its first or last moment."""

    def filter(self, qs, value):
        if value is not None:
            try:
                value = value.astimezone(UTC)
            except OverflowError:
                value = (datetime.min if value.year < 2 else datetime.max).replace(tzinfo=UTC)
        return super().filter(qs, value)


class OrderFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=OrderStatus.choices)

    class Meta:
        model = Order
        fields = ["status"]


class AdminOrderFilter(OrderFilter):
    user = django_filters.NumberFilter(field_name="user_id")
    created_after = UTCDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = UTCDateTimeFilter(field_name="created_at", lookup_expr="lt")
    ordering = StableOrderingFilter(fields=("created_at", "total_price"))
    q = django_filters.CharFilter(method="search")

    def search(self, queryset, name, value):
        return search_orders(queryset, value)

    class Meta:
        model = Order
        fields = ["status", "user", "created_after", "created_before", "q"]
