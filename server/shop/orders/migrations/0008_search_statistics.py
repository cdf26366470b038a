"""Finer statistics for the trigram indexes' expressions (migrations/0006), on PostgreSQL only.

The search lists all of a side's matching rows only when PostgreSQL expects few enough of them
(`search.Long`, `search._expected_rows`). For a substring it matches the term against the
expression's most common values and its histogram, and never believes less than a ten-thousandth
of the table. With the default 100 buckets, a term on fewer than one row in a hundred usually
meets no bucket and is estimated at that floor: "Schmidt", on 20,048 of 2,000,000 recipients,
was expected on 199, and the search listed 10,001 of them only to learn that there were more
(7.5 ms of a 23 ms search). With 1,000 buckets it was expected on 7,863 to 29,552 rows over
seven ANALYZEs, "Lukas" (39,999) on 39,419 to 41,803. The price: ANALYZE samples ten times the
rows, 4.7 s instead of 0.5 s for 2,000,000 addresses (in the background, as autovacuum runs it),
and planning a search's statement takes 0.11 ms instead of 0.05.

The tables are analysed here so that the new statistics are there from the start."""

from django.db import migrations

STATISTICS = 1000
INDEXES = {
    "order_address_name_trgm": "orders_orderaddress",
    "order_address_postal_trgm": "orders_orderaddress",
    "order_item_product_name_trgm": "orders_orderitem",
    "user_username_trgm": "accounts_user",
    "user_email_trgm": "accounts_user",
}


def set_statistics(target: int):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        for index in INDEXES:
            schema_editor.execute(f"ALTER INDEX {index} ALTER COLUMN 1 SET STATISTICS {target}")
        schema_editor.execute(f"ANALYZE {', '.join(sorted(set(INDEXES.values())))}")

    return run


class Migration(migrations.Migration):
    atomic = False  # each statement's lock (none that stops reads or writes) ends with it

    dependencies = [("orders", "0007_search_word_indexes")]

    operations = [migrations.RunPython(set_statistics(STATISTICS), set_statistics(-1))]
