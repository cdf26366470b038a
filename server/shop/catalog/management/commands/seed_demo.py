"""Loads demo data for `make run`: a few products in every category, a demo admin and a demo
customer. Safe to run again, whatever was done in between: the demo accounts are (re)set to the
credentials it prints, and the products are loaded only into a catalog that has never had any,
so products created by hand (or by the README's examples) never collide with them."""

from decimal import Decimal

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.utils import timezone

from shop.catalog.models import Category, Product

DEMO_USERS = [
    # (username, password, is_staff)
    ("admin", "demo-admin-pass", True),
    ("customer", "demo-customer-pass", False),
]

DEMO_PRODUCTS = {
    Category.ELECTRONICS: [
        ("Mechanical keyboard", "89.90", 25),
        ("Noise-cancelling headphones", "199.00", 10),
    ],
    Category.CLOTHING: [("Merino T-shirt", "45.00", 40), ("Rain jacket", "120.00", 12)],
    Category.BOOKS: [("Paperback novel", "12.90", 100), ("Django for professionals", "39.00", 30)],
    Category.HOME: [("Desk lamp", "34.50", 20), ("Ceramic mug", "9.90", 80)],
    Category.TOYS: [("Wooden train set", "59.00", 8), ("Puzzle, 1000 pieces", "19.90", 25)],
    Category.SPORTS: [("Yoga mat", "29.00", 35), ("Running socks", "14.00", 60)],
    Category.GROCERY: [("Single-origin coffee beans", "16.50", 50), ("Green tea", "7.90", 70)],
    Category.BEAUTY: [("Hand cream", "8.50", 45), ("Shampoo bar", "11.00", 30)],
}


class Command(BaseCommand):
    help = "Load demo products, a demo admin and a demo customer."

    def handle(self, *args, **options) -> None:
        user_model = get_user_model()
        for username, password, is_staff in DEMO_USERS:
            user, _ = user_model.objects.get_or_create(username=username)
            user.email = f"{username}@example.com"
            user.is_staff = user.is_superuser = is_staff
            user.is_active = True
            user.email_verified_at = user.email_verified_at or timezone.now()  # logs in under `mandatory`
            if not user.check_password(password):  # a demo password changed by hand, or a new user
                user.set_password(password)
            user.save()
        if Product.objects.exists():
            self.stdout.write("Demo data ready (the catalog already has products; none added).")
        else:
            for category, products in DEMO_PRODUCTS.items():  # one by one: the cache hears of each
                for name, price, stock in products:
                    Product.objects.create(name=name, category=category, price=Decimal(price), stock=stock)
            self.stdout.write(f"Demo data ready ({Product.objects.count()} products).")
        for username, password, is_staff in DEMO_USERS:
            role = "admin (staff)" if is_staff else "customer"
            self.stdout.write(f"  {role:14} username={username} password={password}")
