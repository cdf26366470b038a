"""The staff's CSV export of orders: every order a filtered list finds, read a chunk at a time by
keyset (the list's own order, ties broken by id) so that memory stays flat and no server-side
cursor is needed (a transaction-pooling PgBouncer serves it), written row by row."""

import csv
from collections.abc import Iterator
from datetime import UTC

from django.db.models import Prefetch, QuerySet

from shop.core.keyset import beyond, ordering_of

from .models import Order, OrderItem

CHUNK = 1000
SHIP_TO = ("name", "line1", "line2", "postal_code", "city", "region", "country")
HEADER = [
    "order_id",
    "created_at",
    "status",
    "customer_id",
    "username",
    "email",
    "lines",
    "total_price",
    "currency",
    *(f"ship_to_{part}" for part in SHIP_TO),
]
# What a spreadsheet reads as the start of a formula (OWASP, "CSV Injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(text: str) -> str:
    """`=HYPERLINK(...)` becomes `'=HYPERLINK(...)`: shown as text, never evaluated."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _row(order: Order) -> list[str]:
    address = order.shipping_address
    fields = address.as_dict() if address else dict.fromkeys(SHIP_TO, "")
    shipping = [fields[part] for part in SHIP_TO]
    lines = "; ".join(f"{item.quantity} x {item.product_name}" for item in order.items.all())
    cells = [
        str(order.pk),
        order.created_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        order.status,
        str(order.user_id),
        order.user.username,
        order.user.email,
        lines,
        f"{order.total_price:.2f}",
        order.currency,
        *shipping,
    ]
    # ids, times, statuses, amounts and currencies never start like a formula: every cell is checked
    return [spreadsheet_safe(cell) for cell in cells]


def chunks(orders: QuerySet[Order]) -> Iterator[list[Order]]:
    """The orders of `orders` in its order (a key, then the id), CHUNK at a time, each chunk one
    keyset query for the orders (with their customer and address) and one for their lines."""
    ordering = ordering_of(orders)
    queryset = orders.select_related("user", "shipping_address").prefetch_related(
        Prefetch("items", queryset=OrderItem.objects.order_by("id"))
    )
    last = None
    while True:
        after = None if last is None else beyond(getattr(last, ordering[0].lstrip("-")), last.pk, ordering)
        chunk = list((queryset if after is None else queryset.filter(after))[:CHUNK])
        if not chunk:
            return
        yield chunk
        if len(chunk) < CHUNK:
            return
        last = chunk[-1]


class _Line:
    """A file-like object whose write() returns what it was given: csv.writer makes one line."""

    def write(self, text: str) -> str:
        return text


def csv_lines(orders: QuerySet[Order]) -> Iterator[bytes]:
    """The export, UTF-8 encoded: the header, then a chunk of rows at a time."""
    writer = csv.writer(_Line())
    yield writer.writerow(HEADER).encode()
    for chunk in chunks(orders):
        yield "".join(writer.writerow(_row(order)) for order in chunk).encode()
