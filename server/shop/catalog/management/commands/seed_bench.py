"""Loads benchmark data fast: N products (bulk inserts) and some orders placed through the
service. `manage.py seed_bench --products 1000 --orders 50`."""

import random
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from shop.catalog.models import Category, Product
from shop.orders.services import place_order

BATCH = 10_000


class Command(BaseCommand):
    help = "Load N products and some orders for the benchmarks."

    def add_arguments(self, parser):
        parser.add_argument("--products", type=int, default=1000)
        parser.add_argument("--orders", type=int, default=50)
        parser.add_argument("--customer", default="alice")

    def handle(self, *args, products: int, orders: int, customer: str, **options) -> None:
        rng = random.Random(42)
        categories = Category.values
        existing = Product.objects.count()
        for start in range(existing, products, BATCH):
            Product.objects.bulk_create(
                Product(
                    name=f"Product {i:07d}",
                    description="Benchmark product.",
                    price=Decimal(rng.randrange(100, 100_000)) / 100,
                    stock=1_000_000,
                    category=categories[i % len(categories)],
                )
                for i in range(start, min(start + BATCH, products))
            )
        user = get_user_model().objects.get(username=customer)
        ids = list(Product.objects.order_by("id").values_list("id", flat=True)[:100])
        for _ in range(orders):
            lines = rng.sample(ids, 3)
            place_order(user=user, items=[{"product": pk, "quantity": rng.randint(1, 3)} for pk in lines])
        self.stdout.write(f"{Product.objects.count()} products, {orders} new orders.")
