from django.db import migrations, models


class Migration(migrations.Migration):
    """Password-reset requests become e-mail requests with a purpose (the verification e-mail
    uses them too), and an account records when it confirmed its address."""

    dependencies = [
        ("accounts", "0003_password_reset_request"),
    ]

    operations = [
        migrations.RenameModel("PasswordResetRequest", "EmailRequest"),
        migrations.AddField(
            model_name="emailrequest",
            name="purpose",
            field=models.CharField(
                choices=[("password_reset", "Password Reset"), ("email_verification", "Email Verification")],
                default="password_reset",
                max_length=32,
            ),
        ),
        migrations.AddField(
            model_name="user",
            name="email_verified_at",
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
    ]
