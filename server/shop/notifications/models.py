from django.db import models

from shop.orders.models import OutboxRow


class EmailStatus(models.TextChoices):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"
    SKIPPED = "skipped"  # nothing to confirm any more (the order was cancelled first)


class EmailKind(models.TextChoices):
    ORDER_CONFIRMATION = "order_confirmation"


class EmailNotification(OutboxRow):
    """Every e-mail the shop sends, recorded before it is sent. The row is locked and checked
    before sending, so a retried or duplicated task never sends the same e-mail twice."""

    order = models.ForeignKey("orders.Order", on_delete=models.CASCADE, related_name="emails")
    kind = models.CharField(max_length=32, choices=EmailKind.choices)
    recipient = models.EmailField()
    subject = models.CharField(max_length=200)
    status = models.CharField(max_length=16, choices=EmailStatus.choices, default=EmailStatus.PENDING)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["order", "kind"], name="notifications_one_email_per_kind")
        ]
        indexes = [models.Index(fields=["status", "created_at"], name="email_status_created")]

    def __str__(self) -> str:
        return f"{self.kind} to {self.recipient} ({self.status})"
