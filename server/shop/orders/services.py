"""Writes on orders: placing one and moving it through its statuses."""

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from shop.accounts.models import User
from shop.addresses.services import address_copy
from shop.catalog.models import Product
from shop.catalog.signals import stock_changed
from shop.core.errors import Conflict, DomainError, FieldCode, FieldError, InvalidInput, Unprocessable
from shop.outbox.publish import owe, owe_in_order, publish_on_commit

from .error_codes import OrderErrorCode
from .lock_objects import order_for_update, products_for_update
from .models import (
    IdempotencyKey,
    Order,
    OrderAddress,
    OrderItem,
    OrderStatus,
    OrderStatusChange,
    ShippingAddressChange,
)
from .permissions import can_view_order
from .selectors import order_detail, order_not_found, with_details_written
from .signals import while_creating
from .transitions import check_transition
from .validators import MAX_QUANTITY_PER_LINE, validate_order_total
from .work import OrderWork

CENT = Decimal("0.01")


@dataclass(frozen=True)
class OrderLine:
    product_id: int
    quantity: int
    index: int  # position of the product's first line in the request, for error paths


def merge_lines(items: list[dict[str, int]]) -> list[OrderLine]:
    """One line per product: lines naming the same product are merged, their quantities added."""
    merged: dict[int, OrderLine] = {}
    for index, item in enumerate(items):
        product_id, quantity = item["product"], item["quantity"]
        if product_id in merged:
            first = merged[product_id]
            merged[product_id] = OrderLine(product_id, first.quantity + quantity, first.index)
        else:
            merged[product_id] = OrderLine(product_id, quantity, index)
    return list(merged.values())


def _request_hash(lines: list[OrderLine], addresses: dict[str, dict | None]) -> str:
    """What a retry under the same Idempotency-Key must repeat: the merged lines, and each address
    as sent (its fields, or the saved address's id). Without addresses, the lines alone, as keys
    remembered before addresses existed were hashed."""
    canonical: list = sorted((line.product_id, line.quantity) for line in lines)
    given = {name: address for name, address in addresses.items() if address is not None}
    if given:
        canonical = [canonical, given]
    return hashlib.sha256(json.dumps(canonical, sort_keys=True).encode()).hexdigest()


def _insufficient_stock(line: OrderLine, available: int) -> FieldError:
    return FieldError.at(
        f"items[{line.index}].quantity",
        FieldCode.INSUFFICIENT_STOCK,
        f"Requested {line.quantity}, only {available} available.",
        product=line.product_id,
        requested=line.quantity,
        available=available,
    )


@transaction.atomic
def place_order(
    *,
    user: User,
    items: list[dict[str, int]],
    idempotency_key: str | None = None,
    shipping_address: dict | None = None,
    billing_address: dict | None = None,
) -> tuple[Order, bool]:
    """Places an order atomically: reads the products, copies names and prices into the lines and
    computes the total, writes the order's rows, and takes the stock last, one conditional
    decrement per product in primary-key order (`take_stock`): a product's row is locked only
    from its decrement to the commit, so buyers of one product queue for that short stretch
    rather than for the whole transaction (a flash sale), and two orders over the same products
    lock them in the same order (no deadlock). The lines keep the prices read as the order is
    placed: a price that staff change meanwhile applies from the next order. Each address
    (written out, or `{"saved_address": id}` of the user's) is copied into the order.

    Returns (order, created). With an `idempotency_key` already used by this user for the same
    items and addresses, returns the original order and created=False; otherwise, raises 422.
    """
    lines = merge_lines(items)
    too_many = [line for line in lines if line.quantity > MAX_QUANTITY_PER_LINE]
    if too_many:
        raise InvalidInput(
            FieldError.at(
                f"items[{line.index}].quantity",
                FieldCode.MAX_VALUE,
                f"At most {MAX_QUANTITY_PER_LINE} units of one product per order.",
            )
            for line in too_many
        )

    key_record = None
    if idempotency_key:
        addresses = {"shipping_address": shipping_address, "billing_address": billing_address}
        key_record, replay = _claim_idempotency_key(user, idempotency_key, _request_hash(lines, addresses))
        if replay is not None:
            return order_detail(replay.pk), False
    shipping = address_copy(user=user, given=shipping_address, field="shipping_address")
    billing = address_copy(user=user, given=billing_address, field="billing_address")

    products = {
        product.pk: product for product in Product.objects.filter(pk__in=[line.product_id for line in lines])
    }
    _refuse_unknown(
        [line for line in lines if line.product_id not in products or not products[line.product_id].is_active]
    )

    # Refused before anything is written when the stock read is already short; take_stock()
    # checks again, exactly, under the row lock.
    _refuse_short(lines, {pk: product.stock for pk, product in products.items()})

    total = sum((products[line.product_id].price * line.quantity for line in lines), Decimal("0")).quantize(
        CENT
    )
    validate_order_total(total)

    with while_creating():  # nothing of a new order is cached: no invalidation to send
        copies = {
            name: OrderAddress(**fields)
            for name, fields in (("shipping_address", shipping), ("billing_address", billing))
            if fields is not None
        }
        if copies:
            OrderAddress.objects.bulk_create(copies.values())  # one statement for both
        order = Order.objects.create(
            user=user,
            status=OrderStatus.PENDING,
            total_price=total,
            currency=settings.SHOP_CURRENCY,
            **copies,
        )
        items = OrderItem.objects.bulk_create(
            [
                OrderItem(
                    order=order,
                    product_id=line.product_id,
                    product_name=products[line.product_id].name,
                    quantity=line.quantity,
                    price_at_purchase=products[line.product_id].price,
                )
                for line in lines
            ]
        )
        created = OrderStatusChange.objects.create(
            order=order, from_status=None, to_status=OrderStatus.PENDING, changed_by=user
        )
        if key_record is not None:
            key_record.order = order
            key_record.save(update_fields=["order"])
        publish_on_commit(*owe_in_order(order.pk, OrderWork.INVOICE, OrderWork.ORDER_CONFIRMATION))
    take_stock(lines)  # last: each product's row is locked from its decrement to the commit only
    stock_changed.send(sender=__name__, product_ids=list(products))
    with_details_written(order, items=items, status_changes=[created], shipping_address_changes=[])
    return order, True


def _refuse_unknown(unknown: list[OrderLine]) -> None:
    if unknown:
        raise InvalidInput(
            FieldError.at(
                f"items[{line.index}].product", FieldCode.DOES_NOT_EXIST, f"No product {line.product_id}."
            )
            for line in unknown
        )


def _refuse_short(lines: list[OrderLine], stock: dict[int, int]) -> None:
    short = [line for line in lines if stock[line.product_id] < line.quantity]
    if short:
        raise DomainError(
            f"Not enough stock for {len(short)} line(s).",
            code=OrderErrorCode.INSUFFICIENT_STOCK,
            errors=[_insufficient_stock(line, stock[line.product_id]) for line in short],
        )


def take_stock(lines: list[OrderLine]) -> None:
    """Takes each line's quantity from its product's stock, in primary-key order, each with one
    `UPDATE ... SET stock = stock - n WHERE stock >= n AND is_active`: the decrement sees the
    stock as the last commit left it and locks the row until this transaction ends, so no two
    orders can sell the same unit. A line it cannot take (sold out meanwhile, or the product
    retired) refuses the order, and the transaction rolls back with what it wrote; one whose
    units came back between the decrement and the look at why (a cancel restocking) is taken
    again, so that no line is ever placed without its stock taken."""
    for line in sorted(lines, key=lambda line: line.product_id):
        while not Product.objects.filter(pk=line.product_id, is_active=True, stock__gte=line.quantity).update(
            stock=F("stock") - line.quantity
        ):
            now = stock_now(line.product_id)
            if now is None:
                _refuse_unknown([line])
            _refuse_short([line], {line.product_id: now})


def stock_now(product_id: int) -> int | None:
    """The product's stock as the last commit left it; None when it is gone or retired."""
    return Product.objects.filter(pk=product_id, is_active=True).values_list("stock", flat=True).first()


def idempotency_cutoff():
    """Keys older than this are forgotten (IDEMPOTENCY_KEY_TTL, 24 h): the key may be used anew."""
    return timezone.now() - timedelta(seconds=settings.IDEMPOTENCY_KEY_TTL)


def _claim_idempotency_key(
    user: User, key: str, request_hash: str
) -> tuple[IdempotencyKey | None, Order | None]:
    """Inserts the key, or returns the order it already stands for. A concurrent request holding
    the same key makes the insert wait until it commits (then we replay its order) or rolls back
    (then we proceed as the first). A key past the window is forgotten, as if purged already."""
    cutoff = idempotency_cutoff()
    for _ in range(2):
        try:
            with transaction.atomic():
                return IdempotencyKey.objects.create(user=user, key=key, request_hash=request_hash), None
        except IntegrityError:
            existing = IdempotencyKey.objects.select_related("order").get(user=user, key=key)
        if existing.created_at >= cutoff:
            break
        # Expired: delete it (only if still the expired one) and try the insert again.
        IdempotencyKey.objects.filter(pk=existing.pk, created_at__lt=cutoff).delete()
    if existing.request_hash != request_hash:
        raise Unprocessable(
            "This Idempotency-Key was already used with a different request body.",
            code=OrderErrorCode.IDEMPOTENCY_KEY_REUSED,
            errors=[FieldError.at("Idempotency-Key", FieldCode.REUSED, "Use a new key for a new order.")],
        )
    return None, existing.order


def purge_idempotency_keys(batch: int = 5000) -> int:
    """Deletes the keys older than the window, a batch at a time (short transactions); returns
    how many went."""
    purged = 0
    expired = IdempotencyKey.objects.filter(created_at__lt=idempotency_cutoff())
    while True:
        ids = list(expired.values_list("pk", flat=True)[:batch])
        if not ids:
            return purged
        purged += IdempotencyKey.objects.filter(pk__in=ids).delete()[0]


@transaction.atomic
def change_order_status(
    *, order_id: int, actor: User, status: str, precondition: Callable[[Order], None] | None = None
) -> Order:
    """Moves an order to `status` if the transition table lets `actor` do it. The order row is
    locked for the whole change, so of two racing changes the second sees the first's result;
    cancelling returns every line's quantity to stock in the same transaction. `precondition(order)`
    runs under the lock, before anything is written (the `If-Match` check). Returns the order as
    its representation needs it (lines, history, invoice), read inside the transaction: the answer
    to the change needs no query after the commit, so a database lost in between cannot turn a
    change that was made into an error."""
    order = order_for_update(order_id).first()
    if order is None or not can_view_order(actor, order.user_id):
        raise order_not_found()
    if status == order.status == OrderStatus.CANCELLED:
        return order_detail(order.pk)  # a retried cancel: already done, nothing more to do
    if precondition is not None:
        precondition(order)
    check_transition(order.status, status, is_staff=actor.is_staff)
    if status == OrderStatus.SHIPPED and order.shipping_address_id is None:
        raise Conflict(
            "This order has no shipping address: give it one (PUT /api/orders/{id}/shipping-address/), "
            "then ship it.",
            code=OrderErrorCode.SHIPPING_ADDRESS_MISSING,
        )

    if status == OrderStatus.CANCELLED:
        _restock(order)
    previous = order.status
    order.status = status
    order.save(update_fields=["status", "updated_at"])
    OrderStatusChange.objects.create(order=order, from_status=previous, to_status=status, changed_by=actor)
    if status == OrderStatus.SHIPPED:
        publish_on_commit(owe(OrderWork.SHIPPING_NOTICE, order.pk))
    return order_detail(order.pk)


def _restock(order: Order) -> None:
    quantities = dict(order.items.values_list("product_id", "quantity"))
    products = list(products_for_update(quantities))
    for product in products:
        product.stock += quantities[product.pk]
    Product.objects.bulk_update(products, ["stock"])
    stock_changed.send(sender=__name__, product_ids=list(quantities))


ADDRESS_CHANGE_STATUSES = frozenset({OrderStatus.PENDING, OrderStatus.PROCESSING})


@transaction.atomic
def change_shipping_address(
    *,
    order_id: int,
    actor: User,
    address: dict[str, str],
    precondition: Callable[[Order], None] | None = None,
) -> Order:
    """Gives the order (locked) a new copy of a shipping address while it is pending or processing,
    and records the change with the copy it replaces. The same address again changes nothing (a
    retried request). `precondition(order)` runs under the lock (the `If-Match` check). Returns
    the order as its representation needs it, read inside the transaction."""
    order = order_for_update(order_id).select_related("shipping_address").first()
    if order is None:
        raise order_not_found()
    current = order.shipping_address
    if current is not None and current.as_dict() == address:
        return order_detail(order.pk)
    if precondition is not None:
        precondition(order)
    if order.status not in ADDRESS_CHANGE_STATUSES:
        raise Conflict(
            f"The order is {order.status}: its shipping address can change only while it is pending "
            "or processing.",
            code=OrderErrorCode.SHIPPING_ADDRESS_LOCKED,
            current_status=order.status,
        )
    new = OrderAddress.objects.create(**address)
    order.shipping_address = new
    order.save(update_fields=["shipping_address", "updated_at"])
    ShippingAddressChange.objects.create(order=order, previous=current, address=new, changed_by=actor)
    return order_detail(order.pk)
