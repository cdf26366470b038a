from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("orders", "0001_initial")]

    operations = [
        migrations.AddField(
            model_name="order",
            name="currency",
            # Orders placed before the currency was recorded were placed in the default, EUR.
            field=models.CharField(default="EUR", help_text="ISO 4217 code of the amounts, as placed.", max_length=3),
            preserve_default=False,
        ),
    ]
