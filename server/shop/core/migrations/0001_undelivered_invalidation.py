"""The model moved from the api app; its table stays where it is (state only)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("api", "0001_undelivered_invalidation")]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="UndeliveredInvalidation",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("key", models.CharField(max_length=250)),
                        ("created_at", models.DateTimeField(auto_now_add=True)),
                    ],
                    options={"ordering": ["id"], "db_table": "api_undeliveredinvalidation"},
                ),
            ]
        )
    ]
