"""UndeliveredInvalidation now belongs to the core app (its table is kept: state only)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("api", "0001_undelivered_invalidation"), ("core", "0001_undelivered_invalidation")]

    operations = [
        migrations.SeparateDatabaseAndState(state_operations=[migrations.DeleteModel(name="UndeliveredInvalidation")])
    ]
