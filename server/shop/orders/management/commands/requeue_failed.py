"""`manage.py requeue_failed [--kind invoices|emails|shipping ...] [--since 2026-11-28T10:00]`:
sends failed invoices, e-mails and partner notices again, after an outage is over."""

from django.core.management.base import BaseCommand, CommandError
from django.utils.dateparse import parse_datetime
from django.utils.timezone import is_naive, make_aware

from shop.orders.outbox import KINDS, requeue_failed


class Command(BaseCommand):
    help = "Put failed outbox rows (invoices, e-mails, shipping notices) back in the outbox and publish them."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--kind", action="append", choices=KINDS, help="only this kind (repeatable)")
        parser.add_argument("--since", help="only rows created at or after this ISO 8601 time (UTC if naive)")

    def handle(self, *args, kind=None, since=None, **options) -> None:
        created_after = None
        if since:
            created_after = parse_datetime(since)
            if created_after is None:
                raise CommandError(f"--since {since!r} is not an ISO 8601 date and time")
            if is_naive(created_after):
                created_after = make_aware(created_after)
        counts = requeue_failed(kinds=kind or KINDS, since=created_after)
        self.stdout.write("requeued " + " ".join(f"{name}={count}" for name, count in counts.items()))
