"""Confirmation e-mails are outbox entries now (outbox 0002 moved every row's state)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("notifications", "0002_outbox_claims_and_failures"), ("outbox", "0002_move_order_work")]

    operations = [migrations.DeleteModel(name="EmailNotification")]
