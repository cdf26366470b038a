from django.contrib import admin

from .models import Invoice


@admin.register(Invoice)
class InvoiceAdmin(admin.ModelAdmin):
    list_display = ["order", "status", "generated_at", "enqueued_at"]
    list_filter = ["status"]
    readonly_fields = ["order", "status", "file", "generated_at", "enqueued_at", "created_at"]
