from django.db import models

from shop.orders.models import OutboxRow


class ShippingStatus(models.TextChoices):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


class ShippingNotification(OutboxRow):
    """The shipping partner must hear about a shipped order. Created `pending` in the transaction
    that ships the order; `sent` on a 2xx, `failed` on a 4xx or when the retries run out."""

    order = models.OneToOneField(
        "orders.Order", on_delete=models.CASCADE, related_name="shipping_notification"
    )
    status = models.CharField(max_length=16, choices=ShippingStatus.choices, default=ShippingStatus.PENDING)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["status", "created_at"], name="shipping_status_created")]

    def __str__(self) -> str:
        return f"Shipping notice for order {self.order_id} ({self.status})"


class ShippingAttempt(models.Model):
    """One call to the partner: what it answered, or why it did not."""

    notification = models.ForeignKey(ShippingNotification, on_delete=models.CASCADE, related_name="calls")
    attempt = models.PositiveIntegerField()
    status_code = models.PositiveIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    response_excerpt = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"attempt {self.attempt}: {self.status_code or self.error}"
