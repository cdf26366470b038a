from django.conf import settings
from django.db import models
from django.db.models import Q
from django_countries.fields import CountryField

MAX_SAVED_ADDRESSES = 20  # per account: the list is never paginated


class AddressFields(models.Model):
    """A postal address as the contract's `Address` describes it; `SavedAddress` (a customer's)
    and `shop.orders.OrderAddress` (an order's own copy) are made of it, so a copy is a copy of
    every field."""

    name = models.CharField(max_length=100, help_text="The recipient.")
    line1 = models.CharField(max_length=200)
    line2 = models.CharField(max_length=200, blank=True)
    city = models.CharField(max_length=100)
    region = models.CharField(max_length=100, blank=True)
    postal_code = models.CharField(max_length=20)
    country = CountryField()
    phone = models.CharField(max_length=32, blank=True)

    FIELDS = ("name", "line1", "line2", "city", "region", "postal_code", "country", "phone")

    class Meta:
        abstract = True

    def as_dict(self) -> dict[str, str]:
        """The address's fields, as the API shows them and as a copy takes them."""
        return {field: str(getattr(self, field)) for field in self.FIELDS}

    def lines(self) -> list[str]:
        """The address as it is written on a parcel or an invoice, one line per list item."""
        town = " ".join(part for part in (self.postal_code, self.city) if part)
        return [
            line for line in (self.name, self.line1, self.line2, town, self.region, self.country.name) if line
        ]


class SavedAddress(AddressFields):
    """One of a customer's saved addresses, to place orders with. At most one per user is the
    default (a partial unique index)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="addresses")
    is_default = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-is_default", "-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["user"], condition=Q(is_default=True), name="addresses_one_default_per_user"
            ),
        ]
        indexes = [models.Index(fields=["user", "-created_at"], name="address_user_created")]

    def __str__(self) -> str:
        return f"{self.name}, {self.city}"
