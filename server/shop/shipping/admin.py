from django.contrib import admin

from .models import ShippingAttempt


@admin.register(ShippingAttempt)
class ShippingAttemptAdmin(admin.ModelAdmin):
    """Every call to the partner; the notices themselves (pending, failed, requeue) are under Outbox."""

    list_display = ["order", "attempt", "status_code", "error", "created_at"]
    list_filter = ["status_code"]
    search_fields = ["=order__id"]
    readonly_fields = ["order", "attempt", "status_code", "error", "response_excerpt", "created_at"]
