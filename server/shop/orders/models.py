from django.conf import settings
from django.db import models
from django.db.models import Q

from shop.addresses.models import AddressFields


class OrderStatus(models.TextChoices):
    PENDING = "pending"
    PROCESSING = "processing"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    CANCELLED = "cancelled"


class OrderAddress(AddressFields):
    """An order's own copy of an address: written when the order is placed (or its shipping
    address changed by staff) and never changed after, so editing a saved address changes no
    placed order, and the history keeps every address an order had."""

    def __str__(self) -> str:
        return ", ".join(self.lines())


class Order(models.Model):
    """An order. Its status only moves through `transitions.py`; its total is computed by
    `services.place_order` from the prices copied into its lines."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="orders")
    products = models.ManyToManyField("catalog.Product", through="OrderItem", related_name="orders")
    status = models.CharField(max_length=16, choices=OrderStatus.choices, default=OrderStatus.PENDING)
    total_price = models.DecimalField(max_digits=12, decimal_places=2)
    currency = models.CharField(max_length=3, help_text="ISO 4217 code of the amounts, as placed.")
    shipping_address = models.OneToOneField(
        OrderAddress, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    billing_address = models.OneToOneField(
        OrderAddress, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(total_price__gte=0), name="orders_order_total_gte_0"),
            models.CheckConstraint(
                condition=Q(status__in=OrderStatus.values), name="orders_order_status_valid"
            ),
        ]
        indexes = [
            models.Index(fields=["user", "-created_at", "-id"], name="order_user_created"),
            models.Index(fields=["status", "-created_at"], name="order_status_created"),
            models.Index(fields=["-created_at", "-id"], name="order_created"),
            # the admin list's `ordering=total_price` / `-total_price`, alone or with a filter:
            # 683-760 ms for page 1 at 2M orders without them (a sort of every row)
            models.Index(fields=["total_price", "id"], name="order_total"),
            models.Index(fields=["status", "total_price", "id"], name="order_status_total"),
            models.Index(fields=["user", "total_price", "id"], name="order_user_total"),
        ]

    def __str__(self) -> str:
        return f"Order #{self.pk}"


class OrderItem(models.Model):
    """One line of an order, with the product's name and price as they were when it was placed."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="items")
    product = models.ForeignKey("catalog.Product", on_delete=models.PROTECT, related_name="order_items")
    product_name = models.CharField(max_length=200)
    quantity = models.PositiveIntegerField()
    price_at_purchase = models.DecimalField(max_digits=10, decimal_places=2)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="orders_item_quantity_gt_0"),
            models.CheckConstraint(condition=Q(price_at_purchase__gte=0), name="orders_item_price_gte_0"),
            models.UniqueConstraint(fields=["order", "product"], name="orders_item_one_line_per_product"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} x {self.product_name}"

    @property
    def line_total(self):
        return self.price_at_purchase * self.quantity


class OrderChange(models.Model):
    """Who changed an order, and when: what every entry of an order's histories records."""

    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    changed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        abstract = True
        ordering = ["changed_at", "id"]


class OrderStatusChange(OrderChange):
    """The history of an order's status; the first entry (from null) is its creation."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="status_changes")
    # NULL, not "", for the creation entry: there was no status before, and the API says null.
    from_status = models.CharField(max_length=16, choices=OrderStatus.choices, null=True, blank=True)  # noqa: DJ001
    to_status = models.CharField(max_length=16, choices=OrderStatus.choices)

    def __str__(self) -> str:
        return f"{self.from_status or '-'} -> {self.to_status}"


class ShippingAddressChange(OrderChange):
    """A change of an order's shipping address by staff: the copy before (null: it had none) and
    the copy after, both kept."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="shipping_address_changes")
    previous = models.ForeignKey(OrderAddress, on_delete=models.PROTECT, null=True, related_name="+")
    address = models.ForeignKey(OrderAddress, on_delete=models.PROTECT, related_name="+")

    def __str__(self) -> str:
        return f"shipping address of order {self.order_id} changed"


class IdempotencyKey(models.Model):
    """An `Idempotency-Key` a user sent with an order that was placed. The unique constraint makes
    concurrent retries with the same key wait for, then return, the first one's order."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    request_hash = models.CharField(max_length=64)
    order = models.ForeignKey(Order, on_delete=models.CASCADE, null=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="orders_idempotency_user_key")]
        indexes = [models.Index(fields=["created_at"], name="orders_idempotency_created")]  # the purge

    def __str__(self) -> str:
        return self.key
