"""Loads benchmark data fast: N products (bulk inserts), some orders placed through the service,
and, for the admin list at scale, up to M orders inserted in one SQL statement (each with one
line; the customers and the five statuses in turn, one a minute back in time).
`manage.py seed_bench --products 1000 --orders 50 [--bulk-orders 2000000]`."""

import random
from decimal import Decimal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import connection

from shop.catalog.models import Category, Product
from shop.orders.services import place_order

BATCH = 10_000
# The bulk orders' recipients: 50 x 100 names, every full name on 1 order in 5,000, every surname
# on 1 in 100, as a shop's customers share names. (Until 2026-12-05 every one was "Recipient <n>":
# ten characters, and so nine trigrams, on every row, which made every name search read the whole
# of nine posting lists of the trigram index: 52 ms at 2,000,000 orders for 1,120 matches.)
FIRST_NAMES = [
    "Anna",
    "Ben",
    "Clara",
    "David",
    "Emma",
    "Felix",
    "Greta",
    "Hans",
    "Ida",
    "Jonas",
    "Karla",
    "Lukas",
    "Mia",
    "Noah",
    "Olga",
    "Paul",
    "Rosa",
    "Simon",
    "Tina",
    "Uwe",
    "Vera",
    "Willi",
    "Xenia",
    "Yusuf",
    "Zoe",
    "Maria",
    "Peter",
    "Laura",
    "Jan",
    "Lea",
    "Tom",
    "Nina",
    "Max",
    "Sara",
    "Leon",
    "Julia",
    "Tim",
    "Lisa",
    "Erik",
    "Eva",
    "Otto",
    "Ina",
    "Karl",
    "Ute",
    "Fritz",
    "Heidi",
    "Igor",
    "Jana",
    "Kurt",
    "Lena",
]
LAST_NAMES = [
    "Schmidt",
    "Mueller",
    "Schneider",
    "Fischer",
    "Weber",
    "Meyer",
    "Wagner",
    "Becker",
    "Schulz",
    "Hoffmann",
    "Koch",
    "Richter",
    "Klein",
    "Wolf",
    "Schroeder",
    "Neumann",
    "Schwarz",
    "Braun",
    "Zimmermann",
    "Krueger",
    "Hofmann",
    "Hartmann",
    "Lange",
    "Schmitt",
    "Werner",
    "Krause",
    "Meier",
    "Lehmann",
    "Schmid",
    "Schulze",
    "Maier",
    "Koehler",
    "Herrmann",
    "Walter",
    "Koenig",
    "Mayer",
    "Huber",
    "Kaiser",
    "Fuchs",
    "Peters",
    "Lang",
    "Scholz",
    "Moeller",
    "Weiss",
    "Jung",
    "Hahn",
    "Schubert",
    "Vogel",
    "Friedrich",
    "Keller",
    "Guenther",
    "Frank",
    "Berger",
    "Winkler",
    "Roth",
    "Beck",
    "Lorenz",
    "Baumann",
    "Franke",
    "Albrecht",
    "Schuster",
    "Simon",
    "Ludwig",
    "Boehm",
    "Winter",
    "Kraus",
    "Martin",
    "Schumacher",
    "Kraemer",
    "Vogt",
    "Stein",
    "Jaeger",
    "Otto",
    "Sommer",
    "Gross",
    "Seidel",
    "Heinrich",
    "Brandt",
    "Haas",
    "Schreiber",
    "Graf",
    "Schulte",
    "Dietrich",
    "Ziegler",
    "Kuhn",
    "Kuehn",
    "Pohl",
    "Engel",
    "Horn",
    "Busch",
    "Bergmann",
    "Thomas",
    "Voigt",
    "Sauer",
    "Arnold",
    "Wolff",
    "Pfeiffer",
    "Garcia",
    "Nowak",
    "Kowalski",
]


class Command(BaseCommand):
    help = "Load N products and some orders for the benchmarks."

    def add_arguments(self, parser):
        parser.add_argument("--products", type=int, default=1000)
        parser.add_argument("--orders", type=int, default=50)
        parser.add_argument("--customer", default="alice")
        parser.add_argument("--bulk-orders", type=int, default=0, help="fill the order table up to this many")

    def handle(self, *args, products: int, orders: int, customer: str, bulk_orders: int, **options) -> None:
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
        if bulk_orders:
            self.stdout.write(f"{bulk_insert_orders(bulk_orders)} orders inserted in bulk.")


def bulk_insert_orders(up_to: int) -> int:
    """Fills the order table up to `up_to` rows in one statement (each with a line and a shipping
    address), then VACUUMs and ANALYZEs it."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM orders_order")
        missing = max(0, up_to - cursor.fetchone()[0])
        if not missing:
            return 0
        cursor.execute(
            """
            WITH customers AS (SELECT array_agg(id ORDER BY id) AS ids FROM accounts_user WHERE NOT is_staff),
            first AS (SELECT id, name FROM catalog_product ORDER BY id LIMIT 1),
            addresses AS (
                INSERT INTO orders_orderaddress
                    (name, line1, line2, city, region, postal_code, country, phone)
                SELECT (%s::text[])[1 + g %% 50] || ' ' || (%s::text[])[1 + (g / 50) %% 100],
                       g || ' Bench Street', '', 'Benchville', '',
                       lpad((g %% 99991)::text, 5, '0'), 'DE', ''
                FROM generate_series(1, %s) AS g
                RETURNING id
            ),
            numbered AS (SELECT id, row_number() OVER (ORDER BY id) AS g FROM addresses),
            placed AS (
                INSERT INTO orders_order
                    (user_id, status, total_price, currency, created_at, updated_at, shipping_address_id)
                SELECT customers.ids[1 + g %% cardinality(customers.ids)],
                       (ARRAY['pending', 'processing', 'shipped', 'delivered', 'cancelled'])[1 + g %% 5],
                       ((g::bigint * 7919) %% 100000) / 100.0, %s,
                       now() - make_interval(mins => g::int), now() - make_interval(mins => g::int),
                       numbered.id
                FROM numbered, customers
                RETURNING id, total_price
            )
            INSERT INTO orders_orderitem (order_id, product_id, product_name, quantity, price_at_purchase)
            SELECT placed.id, first.id, first.name, 1, placed.total_price FROM placed, first
            """,
            [FIRST_NAMES, LAST_NAMES, missing, settings.SHOP_CURRENCY],
        )
        # as autovacuum leaves a table that settled: planner statistics, and the new rows moved
        # out of the trigram (GIN) indexes' pending lists, which every search would scan
        tables = "orders_orderaddress, orders_order, orders_orderitem"
        # (a test's transaction cannot VACUUM: statistics only)
        cursor.execute(f"{'ANALYZE' if connection.in_atomic_block else 'VACUUM ANALYZE'} {tables}")
    return missing
