from django.contrib import admin

from .models import Order, OrderItem, OrderStatusChange, ShippingAddressChange


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


class OrderItemInline(ReadOnlyInline):
    model = OrderItem
    readonly_fields = ["product", "product_name", "quantity", "price_at_purchase"]


class OrderStatusChangeInline(ReadOnlyInline):
    model = OrderStatusChange
    readonly_fields = ["from_status", "to_status", "changed_by", "changed_at"]


class ShippingAddressChangeInline(ReadOnlyInline):
    model = ShippingAddressChange
    readonly_fields = ["previous", "address", "changed_by", "changed_at"]


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    """Read-only: statuses move through the API, where the transition table and stock rules apply."""

    list_display = ["id", "user", "status", "total_price", "created_at"]
    list_filter = ["status"]
    search_fields = ["user__username", "id"]
    readonly_fields = [
        "user",
        "status",
        "total_price",
        "shipping_address",
        "billing_address",
        "created_at",
        "updated_at",
    ]
    inlines = [OrderItemInline, OrderStatusChangeInline, ShippingAddressChangeInline]

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
