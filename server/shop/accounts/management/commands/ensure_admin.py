"""Creates the admin named by DJANGO_SUPERUSER_USERNAME / _EMAIL / _PASSWORD, unless it exists.
Unlike `createsuperuser --noinput`, running it again is not an error (containers restart)."""

import os

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone


class Command(BaseCommand):
    help = "Create the admin from the DJANGO_SUPERUSER_* environment variables if it does not exist."

    def handle(self, *args, **options) -> None:
        try:
            username = os.environ["DJANGO_SUPERUSER_USERNAME"]
            password = os.environ["DJANGO_SUPERUSER_PASSWORD"]
        except KeyError as missing:
            raise CommandError(f"{missing.args[0]} is not set") from None
        email = os.environ.get("DJANGO_SUPERUSER_EMAIL", f"{username}@example.com")
        users = get_user_model().objects
        if users.filter(username=username).exists():
            self.stdout.write(f"Admin {username!r} already exists.")
            return
        # the operator chose the address: confirmed, so the admin logs in under `mandatory` too
        users.create_superuser(
            username=username, email=email, password=password, email_verified_at=timezone.now()
        )
        self.stdout.write(f"Admin {username!r} created.")
