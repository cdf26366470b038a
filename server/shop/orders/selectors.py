"""Reads of orders. Every list prefetches lines and history, so its query count does not grow
with the page size or the number of lines per order."""

from django.db.models import Prefetch, QuerySet
from django.http import Http404

from shop.accounts.models import User

from .models import Order, OrderItem, OrderStatusChange


def _with_details(queryset: QuerySet[Order]) -> QuerySet[Order]:
    return queryset.select_related("invoice").prefetch_related(
        Prefetch("items", queryset=OrderItem.objects.order_by("id")),
        Prefetch("status_changes", queryset=OrderStatusChange.objects.order_by("changed_at", "id")),
    )


def order_list_for_user(*, user: User) -> QuerySet[Order]:
    """The user's own orders, newest first."""
    return _with_details(Order.objects.filter(user=user).order_by("-created_at", "-id"))


def order_list_all() -> QuerySet[Order]:
    """Every order, newest first (staff only)."""
    return _with_details(Order.objects.order_by("-created_at", "-id"))


def order_get_for(*, user: User, order_id: int) -> Order:
    """The order if `user` owns it or is staff; Http404 otherwise, so that nobody can learn
    whether someone else's order exists."""
    queryset = Order.objects.all() if user.is_staff else Order.objects.filter(user=user)
    order = _with_details(queryset.filter(pk=order_id)).first()
    if order is None:
        raise Http404
    return order
