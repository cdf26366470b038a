from pathlib import Path

from django.conf import settings
from django.db import models


class Invoice(models.Model):
    """The PDF invoice of an order, once it is written. The work of writing it is the outbox's
    `invoice` entry of the order (owed when the order is placed; pending, done or failed there)."""

    order = models.OneToOneField("orders.Order", on_delete=models.CASCADE, related_name="invoice")
    file = models.CharField(max_length=255, help_text="Path relative to MEDIA_ROOT")
    generated_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"Invoice for order {self.order_id}"

    def stored_file(self) -> Path | None:
        """The file on disk, if it is there."""
        path = Path(settings.MEDIA_ROOT) / self.file
        return path if path.is_file() else None
