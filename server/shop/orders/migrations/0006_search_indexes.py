"""Trigram indexes for the staff's order search (`q`, orders/search.py), on PostgreSQL only: the
expressions are exactly what Django's `icontains` compares there (`UPPER(col::text) LIKE
UPPER(%s)`), so the planner can use them. Built CONCURRENTLY (no lock on writes while a large
table is indexed), hence a non-atomic migration. SQLite (`make run`) searches without them."""

from django.db import migrations

INDEXES = {
    "order_address_name_trgm": ("orders_orderaddress", "name"),
    "order_address_postal_trgm": ("orders_orderaddress", "postal_code"),
    "order_item_product_name_trgm": ("orders_orderitem", "product_name"),
    "user_username_trgm": ("accounts_user", "username"),
    "user_email_trgm": ("accounts_user", "email"),
}


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, (table, column) in INDEXES.items():
        schema_editor.execute(
            f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {name} ON {table} "
            f"USING gin ((UPPER({column}::text)) gin_trgm_ops)"
        )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in INDEXES:
        schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}")


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("orders", "0005_order_addresses"),
        ("accounts", "0004_email_requests_and_verification"),
    ]

    operations = [migrations.RunPython(create, drop)]
