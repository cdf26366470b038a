"""The invoice's outbox state now lives in outbox entries (outbox 0002 moved it): an Invoice row
is a written PDF, so the rows of invoices not written (pending, failed) go."""

from django.db import migrations, models


def keep_written_invoices(apps, schema_editor):
    apps.get_model("invoices", "Invoice").objects.exclude(status="ready").delete()


class Migration(migrations.Migration):
    dependencies = [("invoices", "0002_outbox_claims_and_failures"), ("outbox", "0002_move_order_work")]

    operations = [
        migrations.RunPython(keep_written_invoices, migrations.RunPython.noop, elidable=True),
        migrations.RemoveIndex(model_name="invoice", name="invoice_status_created"),
        *(
            migrations.RemoveField(model_name="invoice", name=name)
            for name in (
                "status",
                "attempts",
                "error",
                "claimed_until",
                "requeues",
                "requeued_at",
                "enqueued_at",
                "created_at",
            )
        ),
        migrations.AlterField(
            model_name="invoice",
            name="file",
            field=models.CharField(help_text="Path relative to MEDIA_ROOT", max_length=255),
        ),
        migrations.AlterField(model_name="invoice", name="generated_at", field=models.DateTimeField()),
    ]
