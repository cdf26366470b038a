"""Beat's sweeper: publishes again the work whose publish was lost."""

import logging
from collections import Counter, defaultdict
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from shop.core.logs import Pairs

from . import kinds
from .models import Entry, EntryStatus
from .publish import Ref, publish, queue_backlog

logger = logging.getLogger(__name__)

SWEEP_BATCH = 500


def _lost(now: datetime, backlog: int | None) -> Q:
    """Pending, and either claimed by an attempt whose lease ran out (its worker died: a batch's
    entries have no message of their own to come back with), or claimed by none OUTBOX_RESUME_AFTER
    seconds after it was last published (or created) and either never taken by the broker or not
    possibly still waiting in its queue (the queue is empty: `backlog` 0). Work merely late behind
    a backlog is not lost."""
    cutoff = now - timedelta(seconds=settings.OUTBOX_RESUME_AFTER)
    lapsed = Q(claimed_until__lt=now)
    stale = Q(enqueued_at__lt=cutoff) | Q(enqueued_at__isnull=True, created_at__lt=cutoff)
    if backlog != 0:  # a backlog (or no broker to ask): only work the broker never took is lost
        stale = Q(enqueued_at__isnull=True, created_at__lt=cutoff)
    return Q(status=EntryStatus.PENDING) & (lapsed | (Q(claimed_until__isnull=True) & stale))


def resume_pending_work(*, now: datetime | None = None) -> dict[str, int]:
    """Publishes the lost entries again, oldest first, each with the pending entries that run
    after it (an order's e-mail rides on its invoice); an entry whose `after` is still pending
    waits for it. Returns how many entries of each kind it published."""
    now = now or timezone.now()
    backlog = queue_backlog()
    heads = list(
        Entry.objects.filter(_lost(now, backlog))
        .exclude(after__status=EntryStatus.PENDING)
        .order_by("created_at")
        .values_list("pk", "kind", "object_id")[:SWEEP_BATCH]
    )
    followers: dict[int, list[Ref]] = defaultdict(list)
    for after_id, *ref in Entry.objects.filter(
        after_id__in=[pk for pk, _, _ in heads], status=EntryStatus.PENDING
    ).values_list("after_id", "pk", "kind", "object_id"):
        followers[after_id].append(Ref(*ref))
    published = Counter(dict.fromkeys(kinds.names(), 0))
    for head in heads:
        run = [Ref(*head), *followers[head[0]]]
        if publish(run):
            published.update(ref.kind for ref in run)
    if heads:
        counts = Pairs(" ".join(f"{name}={count}" for name, count in published.items()))
        logger.info("event=sweep %s backlog=%s", counts, backlog)
    return dict(published)
