"""`manage.py requeue_failed [--kind invoice ...] [--since 2026-11-28T10:00]`: sends failed
outbox work (invoices, e-mails, partner notices, ...) again, after an outage is over."""

from django.core.management.base import BaseCommand, CommandError
from django.utils.dateparse import parse_datetime
from django.utils.timezone import is_naive, make_aware

from shop.outbox import kinds
from shop.outbox.requeue import requeue_failed


class Command(BaseCommand):
    help = "Put failed outbox entries back in the outbox and publish them."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--kind", action="append", choices=kinds.names(), help="only this kind (repeatable)"
        )
        parser.add_argument(
            "--since", help="only entries created at or after this ISO 8601 time (UTC if naive)"
        )

    def handle(self, *args, kind=None, since=None, **options) -> None:
        created_after = None
        if since:
            created_after = parse_datetime(since)
            if created_after is None:
                raise CommandError(f"--since {since!r} is not an ISO 8601 date and time")
            if is_naive(created_after):
                created_after = make_aware(created_after)
        counts = requeue_failed(kinds=kind, since=created_after)
        names = kind or kinds.names()
        self.stdout.write("requeued " + " ".join(f"{name}={counts.get(name, 0)}" for name in names))
