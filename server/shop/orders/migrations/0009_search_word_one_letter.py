"""The word indexes (migrations/0007) hold each word's one-letter start and end too (`>M`, `<N`),
on PostgreSQL only, so that a term whose last word is a single letter, a first name and an
initial as staff type them ("Ben M"), asks for both words: `'<BEN' & '>M'` instead of `'<BEN'`
alone. Asking for the first name alone, the search rechecked 14,000 of the 40,000 names ending in
"Ben" to list 1,001 of the 2,802 "Ben M...": 30-39 ms at 2,000,000 orders, where both words take
9.5 ms (EXPLAIN ANALYZE; the whole search 70-78 ms in-process against 78-99). The index of
2,000,000 names grows from 52 to 62 MB (a letter's posting list is long, but compressed like any
other).

The new function only adds lexemes, so while the indexes are rebuilt (concurrently: reads and
writes go on) every affix the search asked before is still in every row's entry; the search asks
one-letter affixes from the code deployed after this migration, when the rebuild is done. A
rebuild that was interrupted (the migration killed, the database restarted) leaves its new copy
behind, invalid but still written on every insert (`<index>_ccnew`, PostgreSQL's name for it):
running the migration again drops such copies before it rebuilds."""

from django.db import migrations

FUNCTION = """
CREATE OR REPLACE FUNCTION shop_search_words(text) RETURNS tsvector
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT array_to_tsvector(ARRAY(
        SELECT affix
        FROM unnest(string_to_array(upper($1), ' ')) AS word,
             generate_series({shortest}, length(word)) AS n,
             LATERAL (VALUES ('>' || left(word, n)), ('<' || right(word, n))) AS affixes (affix)
    ))
$$
"""

INDEXES = ("order_address_name_words", "order_item_product_name_words")

# The invalid copies an interrupted REINDEX CONCURRENTLY of `index` left behind.
LEFTOVERS = """
SELECT copy.relname FROM pg_index JOIN pg_class AS copy ON copy.oid = pg_index.indexrelid
WHERE NOT pg_index.indisvalid AND copy.relname ~ ('^' || %s || '_ccnew[0-9]*$')
"""


def affixes_from(shortest: int):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        schema_editor.execute(FUNCTION.replace("{shortest}", str(shortest)))
        for index in INDEXES:
            with schema_editor.connection.cursor() as cursor:
                cursor.execute(LEFTOVERS, [index])
                leftovers = [name for (name,) in cursor.fetchall()]
            for name in leftovers:
                schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {schema_editor.quote_name(name)}")
            schema_editor.execute(f"REINDEX INDEX CONCURRENTLY {index}")
        schema_editor.execute("ANALYZE orders_orderaddress, orders_orderitem")

    return run


class Migration(migrations.Migration):
    atomic = False  # REINDEX CONCURRENTLY cannot run in a transaction

    dependencies = [("orders", "0008_search_statistics")]

    operations = [migrations.RunPython(affixes_from(1), affixes_from(2))]
