"""Shipping notices are outbox entries now (outbox 0002 moved every row's state); each call to
the partner is kept, attached to its order instead of the notice."""

import django.db.models.deletion
from django.db import migrations, models
from django.db.models import OuterRef, Subquery


def attach_calls_to_orders(apps, schema_editor):
    notice = apps.get_model("shipping", "ShippingNotification").objects.filter(pk=OuterRef("notification_id"))
    apps.get_model("shipping", "ShippingAttempt").objects.update(order_id=Subquery(notice.values("order_id")[:1]))


class Migration(migrations.Migration):
    dependencies = [("shipping", "0002_outbox_claims_and_failures"), ("outbox", "0002_move_order_work")]

    operations = [
        migrations.AddField(
            model_name="shippingattempt",
            name="order",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="shipping_attempts",
                to="orders.order",
            ),
        ),
        migrations.RunPython(attach_calls_to_orders, migrations.RunPython.noop, elidable=True),
        migrations.RemoveField(model_name="shippingattempt", name="notification"),
        migrations.AlterField(
            model_name="shippingattempt",
            name="order",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE, related_name="shipping_attempts", to="orders.order"
            ),
        ),
        migrations.DeleteModel(name="ShippingNotification"),
    ]
