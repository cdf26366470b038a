from django.db import models

from shop.orders.models import OutboxRow


class InvoiceStatus(models.TextChoices):
    PENDING = "pending"
    READY = "ready"
    FAILED = "failed"


class Invoice(OutboxRow):
    """The PDF invoice of an order. Created `pending` with the order (so the work is never
    forgotten, even if the broker is down), `ready` once the file is written, `failed` when
    INVOICE_MAX_RETRIES + 1 attempts could not write it."""

    order = models.OneToOneField("orders.Order", on_delete=models.CASCADE, related_name="invoice")
    status = models.CharField(max_length=16, choices=InvoiceStatus.choices, default=InvoiceStatus.PENDING)
    file = models.CharField(max_length=255, blank=True, help_text="Path relative to MEDIA_ROOT")
    generated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["status", "created_at"], name="invoice_status_created")]

    def __str__(self) -> str:
        return f"Invoice for order {self.order_id} ({self.status})"
