"""The staff's order search (`q`): the order number, the customer's username and e-mail, the
shipping address's recipient and postal code, and the products' names (as ordered), each
matched case-insensitively as a substring.

Two plans, chosen by how many orders match. Each way of matching is first asked for at most
SPARSE + 1 order ids (trigram indexes serve the substring matches on PostgreSQL,
migrations/0006): when every way finds no more than SPARSE, the orders are fetched by id, so a
rare term costs a few index lookups however many orders there are. Otherwise the term is common
and the list is read in its own order, each order tested with EXISTS, which stops as soon as a
page is full."""

import re

from django.contrib.auth import get_user_model
from django.db.models import Exists, OuterRef, Q, QuerySet

from .models import Order, OrderAddress, OrderItem

SPARSE = 10_000


def _users(term: str) -> QuerySet:
    return get_user_model().objects.filter(Q(username__icontains=term) | Q(email__icontains=term))


def _addresses(term: str) -> QuerySet:
    return OrderAddress.objects.filter(Q(name__icontains=term) | Q(postal_code__icontains=term))


def _items(term: str) -> QuerySet:
    return OrderItem.objects.filter(product_name__icontains=term)


def search_orders(orders: QuerySet[Order], term: str) -> QuerySet[Order]:
    # ASCII digits only: "³".isdigit() is true too, and int() refuses it
    number = Q(pk=int(term)) if re.fullmatch(r"[0-9]{1,15}", term) else Q(pk__in=[])
    # unordered: the list's own order made PostgreSQL walk every order to find a customer's
    probes = [
        Order.objects.filter(user__in=_users(term).values("pk")).order_by().values_list("pk", flat=True),
        Order.objects.filter(shipping_address__in=_addresses(term).values("pk"))
        .order_by()
        .values_list("pk", flat=True),
        _items(term).order_by().values_list("order_id", flat=True),
    ]
    found: set[int] = set()
    for probe in probes:
        ids = list(probe[: SPARSE + 1])
        if len(ids) > SPARSE:
            return orders.filter(
                number
                | Q(Exists(_users(term).filter(pk=OuterRef("user_id"))))
                | Q(Exists(_addresses(term).filter(pk=OuterRef("shipping_address_id"))))
                | Q(Exists(_items(term).filter(order_id=OuterRef("pk"))))
            )
        found.update(ids)
    return orders.filter(number | Q(pk__in=found))
