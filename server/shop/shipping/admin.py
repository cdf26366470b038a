from django.contrib import admin

from .models import ShippingAttempt, ShippingNotification


class ShippingAttemptInline(admin.TabularInline):
    model = ShippingAttempt
    extra = 0
    can_delete = False
    readonly_fields = ["attempt", "status_code", "error", "response_excerpt", "created_at"]


@admin.register(ShippingNotification)
class ShippingNotificationAdmin(admin.ModelAdmin):
    list_display = ["order", "status", "attempts", "completed_at"]
    list_filter = ["status"]
    readonly_fields = ["order", "status", "attempts", "completed_at", "enqueued_at", "created_at"]
    inlines = [ShippingAttemptInline]
