import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = []

    operations = [
        migrations.CreateModel(
            name="Entry",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("kind", models.CharField(max_length=40)),
                ("object_id", models.PositiveBigIntegerField()),
                (
                    "status",
                    models.CharField(
                        choices=[("pending", "Pending"), ("done", "Done"), ("skipped", "Skipped"), ("failed", "Failed")],
                        default="pending",
                        max_length=16,
                    ),
                ),
                ("attempts", models.PositiveIntegerField(default=0)),
                ("error", models.TextField(blank=True, help_text="What the last failed attempt said")),
                ("claimed_until", models.DateTimeField(blank=True, null=True)),
                ("requeues", models.PositiveIntegerField(default=0, help_text="Times staff sent a failed entry again")),
                ("requeued_at", models.DateTimeField(blank=True, null=True)),
                ("enqueued_at", models.DateTimeField(blank=True, null=True)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("settled_at", models.DateTimeField(blank=True, null=True)),
                (
                    "after",
                    models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to="outbox.entry",
                    ),
                ),
            ],
            options={
                "verbose_name_plural": "entries",
                "ordering": ["-created_at", "-id"],
                "indexes": [
                    models.Index(fields=["kind", "object_id"], name="outbox_kind_object"),
                    models.Index(fields=["status", "created_at"], name="outbox_status_created"),
                    models.Index(
                        condition=models.Q(("after__isnull", False)), fields=["after"], name="outbox_after"
                    ),
                ],
                "constraints": [
                    models.UniqueConstraint(
                        condition=models.Q(("status", "pending")),
                        fields=("kind", "object_id"),
                        name="outbox_one_pending_per_object",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(("status__in", ["pending", "done", "skipped", "failed"])),
                        name="outbox_status_valid",
                    ),
                ],
            },
        ),
    ]
