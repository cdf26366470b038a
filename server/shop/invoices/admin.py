from django.contrib import admin

from .models import Invoice


@admin.register(Invoice)
class InvoiceAdmin(admin.ModelAdmin):
    """Written invoices; the work of writing them (pending, failed, requeue) is under Outbox."""

    list_display = ["order", "file", "generated_at"]
    readonly_fields = ["order", "file", "generated_at"]
