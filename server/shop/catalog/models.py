from django.db import models
from django.db.models import Q


class Category(models.TextChoices):
    ELECTRONICS = "electronics"
    CLOTHING = "clothing"
    BOOKS = "books"
    HOME = "home"
    TOYS = "toys"
    SPORTS = "sports"
    GROCERY = "grocery"
    BEAUTY = "beauty"


class Product(models.Model):
    """A product of the catalog. Deleting through the API retires it (`is_active=False`): orders keep
    referring to it, and their lines carry their own copy of its name and price."""

    name = models.CharField(max_length=200)
    description = models.TextField(blank=True, default="")
    price = models.DecimalField(max_digits=10, decimal_places=2)
    stock = models.PositiveIntegerField(default=0)
    category = models.CharField(max_length=32, choices=Category.choices)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=Q(price__gte=0), name="catalog_product_price_gte_0"),
            models.CheckConstraint(condition=Q(stock__gte=0), name="catalog_product_stock_gte_0"),
            models.CheckConstraint(
                condition=Q(category__in=Category.values), name="catalog_product_category_valid"
            ),
        ]
        indexes = [
            # The list only ever shows active products; these serve its filters and orderings.
            models.Index(
                fields=["category", "price"], name="product_active_cat_price", condition=Q(is_active=True)
            ),
            models.Index(fields=["price", "id"], name="product_active_price", condition=Q(is_active=True)),
            models.Index(fields=["name", "id"], name="product_active_name", condition=Q(is_active=True)),
            models.Index(
                fields=["created_at", "id"], name="product_active_created", condition=Q(is_active=True)
            ),
        ]

    def __str__(self) -> str:
        return self.name
