from django.contrib import admin

from shop.orders.admin_actions import requeue_action

from .models import ShippingAttempt, ShippingNotification


class ShippingAttemptInline(admin.TabularInline):
    model = ShippingAttempt
    extra = 0
    can_delete = False
    readonly_fields = ["attempt", "status_code", "error", "response_excerpt", "created_at"]


@admin.register(ShippingNotification)
class ShippingNotificationAdmin(admin.ModelAdmin):
    actions = [requeue_action("shipping")]
    list_display = ["order", "status", "attempts", "requeues", "completed_at"]
    list_filter = ["status"]
    readonly_fields = [f.name for f in ShippingNotification._meta.fields]
    inlines = [ShippingAttemptInline]
