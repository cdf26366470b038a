from django.core.files import File
from django.core.files.storage import Storage, storages
from django.db import models


def invoice_storage() -> Storage:
    """Where invoices are stored: STORAGES["invoices"] (a shared filesystem, or object storage)."""
    return storages["invoices"]


class Invoice(models.Model):
    """The PDF invoice of an order, once it is written. The work of writing it is the outbox's
    `invoice` entry of the order (owed when the order is placed; pending, done or failed there)."""

    order = models.OneToOneField("orders.Order", on_delete=models.CASCADE, related_name="invoice")
    # A name in invoice_storage(), looked up on every use (not a FileField, whose storage is fixed
    # when the model is loaded): the configured storage is the one read.
    file = models.CharField(max_length=255, help_text='Name in the storage STORAGES["invoices"]')
    generated_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"Invoice for order {self.order_id}"

    def open_file(self) -> File | None:
        """The stored file, open for reading; None when it is not in the store. A store that does
        not answer raises (shop.core.storage.STORAGE_ERRORS)."""
        try:
            return invoice_storage().open(self.file, "rb")
        except FileNotFoundError:
            return None
