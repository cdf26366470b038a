"""Moves the outbox state of today's order work (invoices, confirmation e-mails, shipping notices)
from the three tables that held it into outbox entries, keeping every row's state, attempts,
error, claim, requeues and timestamps. The domain tables lose those columns in their next
migration. Reversing restores the columns, not their content."""

from django.db import migrations

# (kind, table of the model, its statuses -> the entry's, when it was settled)
MOVES = [
    ("invoice", "invoices", "invoice", {"pending": "pending", "ready": "done", "failed": "failed"}, "generated_at"),
    (
        "order_confirmation",
        "notifications",
        "emailnotification",
        {"pending": "pending", "sent": "done", "failed": "failed", "skipped": "skipped"},
        "sent_at",
    ),
    (
        "shipping_notice",
        "shipping",
        "shippingnotification",
        {"pending": "pending", "sent": "done", "failed": "failed"},
        "completed_at",
    ),
]


def move_rows(apps, schema_editor):
    entries = apps.get_model("outbox", "Entry")._meta.db_table
    quote = schema_editor.quote_name
    with schema_editor.connection.cursor() as cursor:
        for kind, app, model, statuses, settled in MOVES:
            table = apps.get_model(app, model)._meta.db_table
            status = "CASE status " + " ".join(f"WHEN '{old}' THEN '{new}'" for old, new in statuses.items()) + " END"
            cursor.execute(
                f"INSERT INTO {quote(entries)} (kind, object_id, status, attempts, error, claimed_until, requeues,"
                " requeued_at, enqueued_at, created_at, settled_at)"
                f" SELECT %s, order_id, {status}, attempts, error, claimed_until, requeues, requeued_at,"
                f" enqueued_at, created_at, {quote(settled)} FROM {quote(table)} ORDER BY id",
                [kind],
            )
        # An order's e-mail runs after its invoice, as it did in the chain.
        cursor.execute(
            f"UPDATE {quote(entries)} SET after_id = (SELECT invoice.id FROM {quote(entries)} invoice"
            f" WHERE invoice.kind = 'invoice' AND invoice.object_id = {quote(entries)}.object_id)"
            " WHERE kind = 'order_confirmation'"
        )


class Migration(migrations.Migration):
    dependencies = [
        ("outbox", "0001_initial"),
        ("invoices", "0002_outbox_claims_and_failures"),
        ("notifications", "0002_outbox_claims_and_failures"),
        ("shipping", "0002_outbox_claims_and_failures"),
    ]

    operations = [migrations.RunPython(move_rows, migrations.RunPython.noop, elidable=True)]
