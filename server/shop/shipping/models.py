from django.db import models


class ShippingAttempt(models.Model):
    """One call to the partner about a shipped order: what it answered, or why it did not. The
    notice itself (pending, sent, failed, requeued) is the outbox's `shipping_notice` entry."""

    order = models.ForeignKey("orders.Order", on_delete=models.CASCADE, related_name="shipping_attempts")
    attempt = models.PositiveIntegerField()
    status_code = models.PositiveIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    response_excerpt = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"attempt {self.attempt}: {self.status_code or self.error}"
