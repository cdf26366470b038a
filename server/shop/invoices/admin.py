from django.contrib import admin

from shop.orders.admin_actions import requeue_action

from .models import Invoice


@admin.register(Invoice)
class InvoiceAdmin(admin.ModelAdmin):
    actions = [requeue_action("invoices")]
    list_display = ["order", "status", "attempts", "requeues", "generated_at", "enqueued_at"]
    list_filter = ["status"]
    readonly_fields = [f.name for f in Invoice._meta.fields]
