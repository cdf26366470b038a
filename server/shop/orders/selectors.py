"""Reads of orders. Every list prefetches lines and history, so its query count does not grow
with the page size or the number of lines per order."""

from django.db.models import Prefetch, QuerySet

from shop.accounts.models import User
from shop.core.error_codes import ApiErrorCode
from shop.core.errors import NotFound

from .models import Order, OrderItem, OrderStatusChange, ShippingAddressChange
from .permissions import can_view_order


def _with_details(queryset: QuerySet[Order]) -> QuerySet[Order]:
    return queryset.select_related("invoice", "shipping_address", "billing_address").prefetch_related(
        Prefetch("items", queryset=OrderItem.objects.order_by("id")),
        Prefetch("status_changes", queryset=OrderStatusChange.objects.order_by("changed_at", "id")),
        Prefetch(
            "shipping_address_changes",
            queryset=ShippingAddressChange.objects.select_related("previous", "address").order_by(
                "changed_at", "id"
            ),
        ),
    )


def with_details_written(order: Order, **related: list) -> Order:
    """The new order as `_with_details` would load it, from rows this process has just written:
    each relation is filled as `prefetch_related` fills it (a queryset holding the rows), and the
    invoice is known to be absent (a new order has none yet), as `select_related` would find it;
    so the answer to a write needs no read back, and anything that filters a relation still
    queries. (Django's own caches, written as its prefetch and select_related write them:
    tests/orders/test_place_order.py lists a placed order's statements and fails if its answer
    ever queries again.)"""
    Order._meta.get_field("invoice").set_cached_value(order, None)
    order._prefetched_objects_cache = {}
    for name, rows in related.items():
        queryset = getattr(order, name).all()
        queryset._result_cache = rows
        queryset._prefetch_done = True
        order._prefetched_objects_cache[name] = queryset
    return order


def order_list_for_user(*, user: User) -> QuerySet[Order]:
    """The user's own orders, newest first."""
    return _with_details(Order.objects.filter(user=user).order_by("-created_at", "-id"))


def order_list_all() -> QuerySet[Order]:
    """Every order, newest first (staff only)."""
    return _with_details(Order.objects.order_by("-created_at", "-id"))


def order_not_found() -> NotFound:
    return NotFound("No such order.", code=ApiErrorCode.NOT_FOUND)


def order_detail(order_id: int) -> Order | None:
    """The order with its lines, history and invoice, as every representation of it needs them."""
    return _with_details(Order.objects.filter(pk=order_id)).first()


def order_get_for(*, user: User, order_id: int) -> Order:
    """The order if `user` may see it (permissions.can_view_order); NotFound otherwise."""
    order = order_detail(order_id)
    if order is None or not can_view_order(user, order.user_id):
        raise order_not_found()
    return order
