"""The outbox's figures for Prometheus: each run of an entry, by kind and outcome (counted by the
worker that ran it), and, read from the database at scrape time (exact whichever process wrote
the entries), the entries waiting or given up per kind and the oldest one waiting."""

from django.db.models import Count, Min
from django.utils import timezone
from prometheus_client import Counter, Histogram
from prometheus_client.core import GaugeMetricFamily

from . import kinds
from .models import Entry, EntryStatus

STATES = (EntryStatus.PENDING, EntryStatus.FAILED)

RUNS = Counter(
    "shop_outbox_runs_total",
    "Runs of outbox entries by kind and outcome: done, skipped, refused (failed for good by the work),"
    " retried (an attempt failed, another is due), failed (the last attempt failed).",
    ["kind", "outcome"],
)
RUN_DURATION = Histogram(
    "shop_outbox_run_duration_seconds",
    "Time an entry's work took (the kind's run, then the commit that records it), every outcome.",
    ["kind"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)


class OutboxCollector:
    def collect(self):
        rows = GaugeMetricFamily(
            "shop_outbox_rows",
            "Outbox entries waiting (pending) or given up (failed), per kind.",
            labels=["kind", "state"],
        )
        oldest = GaugeMetricFamily(
            "shop_outbox_oldest_pending_seconds",
            "Age of the oldest pending outbox entry of each kind (0 when none).",
            labels=["kind"],
        )
        counts = {
            (kind, state): n
            for kind, state, n in Entry.objects.filter(status__in=STATES)
            .values_list("kind", "status")
            .annotate(n=Count("pk"))
            .values_list("kind", "status", "n")
        }
        firsts = dict(
            Entry.objects.filter(status=EntryStatus.PENDING)
            .values_list("kind")
            .annotate(first=Min("created_at"))
            .values_list("kind", "first")
        )
        now = timezone.now()
        for kind in kinds.names():
            for state in STATES:
                rows.add_metric([kind, state.value], counts.get((kind, state.value), 0))
            first = firsts.get(kind)
            oldest.add_metric([kind], (now - first).total_seconds() if first else 0.0)
        yield rows
        yield oldest
