"""Staff send failed work again, after an outage of the partner or the mail server (the
`requeue_failed` command, or the admin action on outbox entries)."""

import logging
from collections import Counter
from collections.abc import Iterable
from datetime import datetime
from functools import partial

from django.db import transaction
from django.db.models import Exists, F, OuterRef
from django.utils import timezone

from .models import Entry, EntryStatus
from .publish import Ref, publish

logger = logging.getLogger(__name__)


def requeue_failed(
    *,
    kinds: Iterable[str] | None = None,
    since: datetime | None = None,
    entry_ids: Iterable[int] | None = None,
) -> dict[str, int]:
    """Makes failed entries pending again with a fresh set of attempts, counts and stamps the
    resend, and publishes each after the commit. An entry whose object already has newer work
    of its kind pending is left failed. Returns how many of each kind were requeued."""
    newer_pending = Entry.objects.filter(
        kind=OuterRef("kind"), object_id=OuterRef("object_id"), status=EntryStatus.PENDING
    )
    rows = Entry.objects.filter(status=EntryStatus.FAILED).exclude(Exists(newer_pending))
    if kinds is not None:
        rows = rows.filter(kind__in=list(kinds))
    if since is not None:
        rows = rows.filter(created_at__gte=since)
    if entry_ids is not None:
        rows = rows.filter(pk__in=list(entry_ids))
    with transaction.atomic():
        requeued = list(rows.select_for_update(of=("self",)).values_list("pk", "kind", "object_id"))
        Entry.objects.filter(pk__in=[pk for pk, _, _ in requeued]).update(
            status=EntryStatus.PENDING,
            attempts=0,
            claimed_until=None,
            settled_at=None,
            requeues=F("requeues") + 1,
            requeued_at=timezone.now(),
        )
        for pk, kind, object_id in requeued:
            logger.warning("event=requeued kind=%s entry_id=%s object_id=%s", kind, pk, object_id)
            transaction.on_commit(partial(publish, [Ref(pk, kind, object_id)]))
    return dict(Counter(kind for _, kind, _ in requeued))
