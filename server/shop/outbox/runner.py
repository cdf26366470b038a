"""One run of an entry: claim it, run its kind, record the outcome (shop.outbox.claims)."""

import logging
import random
import time

from django.conf import settings

from config.celery import app
from shop.core.errors import database_gone

from . import kinds
from .claims import claim, settle
from .kinds import Record, TryAgain
from .metrics import RUN_DURATION, RUNS
from .models import Entry, EntryStatus

logger = logging.getLogger(__name__)


def backoff(retries: int, base: float) -> float:
    """Exponential backoff with full jitter: base * 2^retries, plus up to one base at random."""
    return base * 2**retries + random.uniform(0, base)


class RetryLater(Exception):
    """The attempt failed and was recorded; another one is due in `countdown` seconds."""

    def __init__(self, countdown: float) -> None:
        super().__init__(f"retry in {countdown:.2f}s")
        self.countdown = countdown


def run(entry_id: int) -> Entry | None:
    """Runs the entry once if it is owed. Returns it when this run settled it or attempted it.
    Raises ClaimHeld (another attempt holds it), RetryLater (this attempt failed, attempts
    remain), or a database error (the database went away: not the work's failure)."""
    entry = claim(entry_id)
    if entry is None:
        return None
    started = time.perf_counter()
    try:
        outcome = _attempt(entry)
    finally:
        RUN_DURATION.labels(entry.kind).observe(time.perf_counter() - started)
    RUNS.labels(entry.kind, outcome).inc()
    if entry.status != EntryStatus.PENDING:
        _wake_followers(entry)
    return entry


def _wake_followers(entry: Entry) -> None:
    """With batches, the entries that waited for this one (an invoice's e-mail) are ready now and
    no message of their own may come (they were never published alone): a drain takes them."""
    if not settings.OUTBOX_BATCH_SIZE or app.conf.task_always_eager:
        return  # without batches they ride on this entry's chain
    if Entry.objects.filter(after=entry, status=EntryStatus.PENDING).exists():
        from .publish import wake

        wake()


def _attempt(entry: Entry) -> str:
    """Runs the claimed entry's work and records the outcome; returns its name for the metrics."""
    kind = kinds.get(entry.kind)
    try:
        outcome = kind.run(entry)
    except Exception as exc:
        if database_gone(exc):  # not the work's failure: the task waits for the database
            raise
        error, record = failure(exc)
        if entry.attempts >= kind.max_attempts:  # that was the last one
            settle(entry, status=EntryStatus.FAILED, error=error, record=record)
            log_failed(entry, error)
            return "failed"
        settle(entry, error=error, record=record)
        RUNS.labels(entry.kind, "retried").inc()
        raise RetryLater(backoff(entry.attempts - 1, kind.backoff)) from exc
    settle(entry, status=outcome.status, error=outcome.note, record=outcome.record)
    if outcome.status == EntryStatus.FAILED:
        log_refused(entry, outcome.note)
        return "refused"
    return outcome.status


def failure(exc: Exception) -> tuple[str, Record | None]:
    """What a failed attempt records: its error, and the rows a `TryAgain` carries (a partner's answer)."""
    if isinstance(exc, TryAgain):
        return str(exc), exc.record
    return f"{type(exc).__name__}: {exc}", None


def log_failed(entry: Entry, error: str) -> None:
    logger.error(
        'event=outbox_failed kind=%s entry_id=%s object_id=%s attempts=%d error="%s"',
        entry.kind,
        entry.pk,
        entry.object_id,
        entry.attempts,
        error,
    )


def log_refused(entry: Entry, note: str) -> None:
    logger.error(
        'event=outbox_refused kind=%s entry_id=%s object_id=%s note="%s"',
        entry.kind,
        entry.pk,
        entry.object_id,
        note,
    )
