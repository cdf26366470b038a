"""One attempt at an entry, in two commits around the work:

    entry = claim(entry_id)       # None: done, skipped, failed, waiting for the entry it is after
    ... the work (no transaction open) ...
    settle(entry, status=EntryStatus.DONE)   # or settle(entry, error=...) to leave it pending

The claim commits the attempt (and `claimed_until`) before the work starts, so a worker killed
in the middle leaves the attempt counted and the entry claimed until the lease ends; after that
it can be taken again. Attempts are counted in the entry, so retries, redeliveries and the
sweeper's republishing share one bound: past the kind's `max_attempts` the entry is failed."""

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from . import kinds
from .kinds import Record
from .models import Entry, EntryStatus

logger = logging.getLogger(__name__)


class ClaimHeld(Exception):
    """Another attempt holds the entry (it is running, or its worker died and the lease has not
    run out): try again in `seconds`, when it has ended."""

    def __init__(self, entry_id: int, seconds: float) -> None:
        super().__init__(f"outbox entry {entry_id} is held by another attempt for {seconds:.0f}s")
        self.entry_id, self.seconds = entry_id, seconds

    def __reduce__(self):  # the pool process hands it to the worker pickled: keep its arguments
        return type(self), (self.entry_id, self.seconds)


def lease() -> timedelta:
    """How long a claim holds: no task outlives Celery's hard time limit."""
    return timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT)


def claim(entry_id: int) -> Entry | None:
    """Claims the pending entry for one attempt and commits. Returns it, or None when there is
    nothing to do now: it is settled, gone, waiting for the entry it runs after (the sweeper
    publishes it once that one is settled), or out of attempts (then it is marked failed).
    Raises ClaimHeld while another attempt holds it."""
    now = timezone.now()
    with transaction.atomic():
        entry = (  # with the entry it runs after, if any: one query
            Entry.objects.select_for_update(of=("self",)).select_related("after").filter(pk=entry_id).first()
        )
        if entry is None or entry.status != EntryStatus.PENDING:
            return None
        if entry.after is not None and entry.after.status == EntryStatus.PENDING:
            logger.info(
                "event=outbox_waiting kind=%s entry_id=%s after=%s", entry.kind, entry.pk, entry.after_id
            )
            return None
        if entry.claimed_until and entry.claimed_until > now:
            raise ClaimHeld(entry.pk, (entry.claimed_until - now).total_seconds())
        kind = kinds.get(entry.kind)
        if entry.attempts >= kind.max_attempts:
            settle(entry, status=EntryStatus.FAILED, error=entry.error or "gave up: no attempt left")
            logger.error(
                "event=outbox_gave_up kind=%s entry_id=%s object_id=%s attempts=%d",
                entry.kind,
                entry.pk,
                entry.object_id,
                entry.attempts,
            )
            return None
        entry.attempts += 1
        entry.claimed_until = now + lease()
        entry.save(update_fields=["attempts", "claimed_until"])
        if kind.on_claim is not None:
            kind.on_claim(entry)
    return entry


def settle(entry: Entry, *, status: str | None = None, error: str = "", record: Record | None = None) -> None:
    """Records the attempt's outcome (and the kind's own rows, `record`) and releases the claim,
    in one commit. Without a `status` the entry stays pending: the attempt failed, and may be
    tried again."""
    entry.claimed_until, entry.error = None, error[:2000]
    fields = ["claimed_until", "error"]
    if status is not None:
        entry.status, entry.settled_at = status, timezone.now()
        fields += ["status", "settled_at"]
    if record is None:
        entry.save(update_fields=fields)
        return
    with transaction.atomic():
        record()
        entry.save(update_fields=fields)
