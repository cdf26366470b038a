"""Entries run in batches: one claim and one settle commit for many first attempts.

    drained = drain()    # claims up to OUTBOX_BATCH_SIZE ready entries, runs each, settles all, again

A batch takes only entries that were never tried (`attempts` 0), are claimed by nobody and do
not wait for a pending entry (`after`), oldest first, skipping rows another batch has locked.
Each entry is still one attempt of its own, counted, leased and recorded exactly as a single run
(shop.outbox.claims) records it; what a batch shares is the two commits, the kind's per-batch
resources (one SMTP connection for its e-mails, `Kind.batch`) and one task message:

- An attempt that fails does not fail the batch: it is recorded with the others, and its retry
  goes back to the single-entry path (`run_entry_task`, with its chain of followers) after the
  kind's backoff; a retry is never batched again. Its last attempt fails it, as always.
- A row whose recording fails (its kind's rows break a constraint) does not fail the batch
  either: the batch is then settled entry by entry, and that entry's attempt is recorded as
  failed without its rows.
- A batch stops running entries after OUTBOX_BATCH_SECONDS; the rest are released unattempted
  (their attempt uncounted), so one slow dependency cannot carry a batch past the task's limit.
- A worker that dies mid-batch leaves its entries claimed until the lease ends; the sweeper then
  publishes them, one by one, whatever the queue holds (`sweeper._lost`).
- The database going away mid-batch leaves the entries claimed in the same way (the work already
  done may be done again: at least once, as for a single entry).
"""

import logging
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone
from django_guid import clear_guid, get_guid, set_guid

from shop.core.errors import database_gone
from shop.core.logs import Pairs

from . import kinds, rows
from .claims import lease, settle
from .kinds import Record
from .metrics import RUN_DURATION, RUNS
from .models import Entry, EntryStatus
from .publish import Ref, left_for_sweeper, publish
from .runner import backoff, failure, log_failed, log_refused
from .tasks import run_entry_task

logger = logging.getLogger(__name__)


def ready() -> Q:
    """Entries a batch may take: pending, never tried, claimed by nobody, of a kind this process
    knows (a newer worker's kind waits for a newer worker), not waiting for a pending entry."""
    return Q(status=EntryStatus.PENDING, attempts=0, claimed_until__isnull=True, kind__in=kinds.names()) & ~Q(
        after__status=EntryStatus.PENDING
    )


def claim_batch(limit: int) -> list[Entry]:
    """Claims up to `limit` ready entries for their first attempt, in one commit (the kinds'
    `on_claim` in it); returns them, oldest first."""
    until = timezone.now() + lease()
    with transaction.atomic():
        if connection.vendor == "postgresql":
            entries = _claimed_in_one_statement(limit, until)
        else:
            entries = _claimed_by_the_orm(limit, until)
        for entry in entries:
            kind = kinds.get(entry.kind)
            if kind.on_claim is not None:
                kind.on_claim(entry)
    return entries


# `ready()` and the counted attempt as one statement: the entries are picked and locked once (an
# ARRAY() subquery is an InitPlan, run once), the claimers skipping each other's rows. The ORM
# compiled the same SELECT and UPDATE on every claim: 2.9 ms of a worker's CPU per claim against
# 0.6-0.7 ms, and under load a claim often takes one or two entries.
_CLAIM = """
UPDATE {table} SET attempts = 1, claimed_until = %s
WHERE id = ANY(ARRAY(
    SELECT id FROM {table} AS entry
    WHERE status = %s AND attempts = 0 AND claimed_until IS NULL AND kind = ANY(%s)
      AND NOT EXISTS (SELECT 1 FROM {table} AS waited WHERE waited.id = entry.after_id AND waited.status = %s)
    ORDER BY created_at, id
    LIMIT %s
    FOR UPDATE SKIP LOCKED
))
RETURNING {columns}
"""


@cache
def _claim_sql() -> str:
    """The claim's SQL, built once."""
    return _CLAIM.format(table=connection.ops.quote_name(Entry._meta.db_table), columns=rows.returning())


def _claimed_in_one_statement(limit: int, until: datetime) -> list[Entry]:
    pending = EntryStatus.PENDING.value
    with connection.cursor() as cursor:
        cursor.execute(_claim_sql(), [until, pending, list(kinds.names()), pending, limit])
        claimed = rows.entries(cursor.fetchall())
    return sorted(claimed, key=lambda entry: (entry.created_at, entry.pk))


def _claimed_by_the_orm(limit: int, until: datetime) -> list[Entry]:
    """The same claim for a database without SKIP LOCKED and arrays (SQLite, `make run`)."""
    entries = list(
        Entry.objects.select_for_update(of=("self",), skip_locked=True)
        .filter(ready())
        .order_by("created_at", "pk")[:limit]
    )
    if entries:
        Entry.objects.filter(pk__in=[entry.pk for entry in entries]).update(attempts=1, claimed_until=until)
    for entry in entries:
        entry.attempts, entry.claimed_until = 1, until
    return entries


@dataclass
class Result:
    """One entry's attempt in a batch, before it is recorded."""

    entry: Entry
    status: str | None = None  # None: left pending (failed attempt, or released unattempted)
    error: str = ""
    record: Record | None = None
    outcome: str = ""  # for the metrics and logs: done, skipped, refused, retried, failed, released
    retry_in: float | None = None
    seconds: float = 0.0


@dataclass
class Drained:
    """What a drain did: entries attempted per outcome, and batches claimed."""

    batches: int = 0
    outcomes: dict[str, int] = field(default_factory=lambda: defaultdict(int))


def drain(
    *, limit: int | None = None, seconds: float | None = None, on_full=None, on_partial=None
) -> Drained:
    """Runs batches of ready entries until none is left or `seconds` (OUTBOX_DRAIN_SECONDS) have
    passed. `on_full()` is called when a batch came back full (more may be waiting: another
    worker can share them). With `on_partial`, a batch that came back short of `limit` ends the
    drain instead, once `on_partial()` says a later drain will come for what became ready
    meanwhile (the followers of the entries just settled, the work owed since): a worker that
    keeps up then still claims full batches, not the few entries of the last commits. When no
    drain can come (the broker refused it), this one goes on: the followers are not left to the
    sweeper."""
    limit = limit or settings.OUTBOX_BATCH_SIZE
    budget = settings.OUTBOX_DRAIN_SECONDS if seconds is None else seconds
    started = time.monotonic()
    drained = Drained()
    while time.monotonic() - started < budget:
        entries = claim_batch(limit)
        if not entries:
            break
        drained.batches += 1
        if len(entries) == limit and on_full is not None:
            on_full()
        for result in run_batch(entries):
            drained.outcomes[result.outcome] += 1
        if len(entries) < limit and on_partial is not None and on_partial():
            break
    return drained


def run_batch(entries: list[Entry]) -> list[Result]:
    """Runs the claimed entries, kind by kind with the kind's batch resources, then records every
    outcome in one commit and publishes the retries. Raises a database error when the database
    went away: the entries stay claimed until their lease ends, and each is handed to the single
    path, which takes it then (nothing else would: a batch never takes a tried entry)."""
    try:
        return _run_batch(entries)
    except Exception as exc:
        if database_gone(exc):
            _hand_back(entries)
        raise


def _run_batch(entries: list[Entry]) -> list[Result]:
    deadline = time.monotonic() + settings.OUTBOX_BATCH_SECONDS
    by_kind: dict[str, list[Entry]] = defaultdict(list)
    for entry in entries:
        by_kind[entry.kind].append(entry)
    results: list[Result] = []
    for name, group in by_kind.items():
        kind = kinds.get(name)
        stack, entered = ExitStack(), False
        try:
            for entry in group:
                if time.monotonic() >= deadline:
                    results.append(Result(entry, outcome="released"))
                    continue
                if not entered:  # the kind's resources, only once one of its entries runs
                    _enter(stack, kind, group)
                    entered = True
                with request_id(entry.request_id):
                    results.append(_attempt(kind, entry))
        finally:
            _leave(stack, kind)
    _settle(results)
    _publish_retries([r for r in results if r.retry_in is not None])
    for result in results:
        if result.outcome != "released":
            RUN_DURATION.labels(result.entry.kind).observe(result.seconds)
            RUNS.labels(result.entry.kind, result.outcome).inc()
    counts: dict[str, int] = defaultdict(int)
    for result in results:
        counts[result.outcome] += 1
    logger.info(
        "event=outbox_batch entries=%d %s",
        len(results),
        Pairs(" ".join(f"{outcome}={n}" for outcome, n in sorted(counts.items()))),
    )
    return results


def _enter(stack: ExitStack, kind: kinds.Kind, entries: list[Entry]) -> None:
    """Enters the kind's batch context; one that fails (but for the database going away) is done
    without: each entry then does alone what the batch would have shared."""
    if kind.batch is None:
        return
    try:
        stack.enter_context(kind.batch(entries))
    except Exception as exc:
        if database_gone(exc):
            raise
        logger.warning(
            'event=outbox_batch_context_failed kind=%s error="%s: %s"', kind.name, type(exc).__name__, exc
        )


def _leave(stack: ExitStack, kind: kinds.Kind) -> None:
    """Leaves the kind's batch context. What fails there (a mail server that refuses the QUIT) is
    logged and nothing more: the work is done, and its outcomes are still to be recorded."""
    try:
        stack.close()
    except Exception as exc:
        logger.warning(
            'event=outbox_batch_context_failed kind=%s error="%s: %s"', kind.name, type(exc).__name__, exc
        )


def _attempt(kind: kinds.Kind, entry: Entry) -> Result:
    """Runs one claimed entry's work; the outcome as the single path would record it."""
    started = time.perf_counter()
    try:
        outcome = kind.run(entry)
    except Exception as exc:
        if database_gone(exc):
            raise
        error, record = failure(exc)
        seconds = time.perf_counter() - started
        if entry.attempts >= kind.max_attempts:
            return Result(entry, EntryStatus.FAILED, error, record, "failed", seconds=seconds)
        retry_in = backoff(entry.attempts - 1, kind.backoff)
        return Result(entry, None, error, record, "retried", retry_in=retry_in, seconds=seconds)
    seconds = time.perf_counter() - started
    label = "refused" if outcome.status == EntryStatus.FAILED else str(outcome.status)
    return Result(entry, outcome.status, outcome.note, outcome.record, label, seconds=seconds)


def _settle(results: list[Result]) -> None:
    """Records every outcome in one commit; when that fails for anything but the database going
    away (a kind's rows refused), entry by entry, so only the entry at fault loses its rows."""
    if not results:
        return
    now = timezone.now()
    for result in results:
        entry = result.entry
        entry.claimed_until, entry.error = None, result.error[:2000]
        if result.outcome == "released":
            entry.attempts = 0
        if result.status is not None:
            entry.status, entry.settled_at = result.status, now
    try:
        with transaction.atomic():
            kinds.write_records([result.record for result in results if result.record is not None])
            _save([r.entry for r in results])
    except Exception as exc:
        if database_gone(exc):
            raise
        logger.warning(
            'event=outbox_batch_settle_failed entries=%d error="%s: %s" action=settle_one_by_one',
            len(results),
            type(exc).__name__,
            exc,
        )
        for result in results:
            _settle_one(result)
    for result in results:
        with request_id(result.entry.request_id):
            _log(result)


@contextmanager
def request_id(value: str) -> Iterator[None]:
    """The entry's work logs under the id of the request that owed it (a batch holds the work of
    many requests; the drain's own id is the one request that published it)."""
    previous = get_guid()
    if value:
        set_guid(value)
    try:
        yield
    finally:
        if previous:
            set_guid(previous)
        else:
            clear_guid()


def _save(entries: list[Entry]) -> None:
    """One UPDATE per distinct outcome (a batch of done entries: one), not a CASE per row and field."""
    groups: dict[tuple, list[int]] = defaultdict(list)
    for entry in entries:
        groups[(entry.attempts, entry.error, entry.status, entry.settled_at)].append(entry.pk)
    for (attempts, error, status, settled_at), ids in groups.items():
        Entry.objects.filter(pk__in=ids).update(
            attempts=attempts, claimed_until=None, error=error, status=status, settled_at=settled_at
        )


def _settle_one(result: Result) -> None:
    entry = result.entry
    try:
        settle(entry, status=result.status, error=result.error, record=result.record)
        return
    except Exception as exc:
        if database_gone(exc):
            raise
        error = f"recording the outcome failed: {type(exc).__name__}: {exc}"
    kind = kinds.get(entry.kind)
    if entry.attempts >= kind.max_attempts:
        result.status, result.outcome, result.retry_in = EntryStatus.FAILED, "failed", None
    else:
        result.status, result.outcome = None, "retried"
        result.retry_in = backoff(entry.attempts - 1, kind.backoff)
    entry.status = EntryStatus.PENDING if result.status is None else result.status
    entry.settled_at = timezone.now() if result.status is not None else None
    result.error = error
    settle(entry, status=result.status, error=error)


def _log(result: Result) -> None:
    entry = result.entry
    if result.outcome == "released":
        return
    logger.info(
        "event=outbox_run kind=%s entry_id=%s object_id=%s outcome=%s attempts=%d run_ms=%.1f",
        entry.kind,
        entry.pk,
        entry.object_id,
        result.outcome,
        entry.attempts,
        result.seconds * 1000,
    )
    if result.outcome == "failed":
        log_failed(entry, result.error)
    elif result.outcome == "refused":
        log_refused(entry, result.error)
    elif result.outcome == "retried":
        logger.warning(
            'event=outbox_retry kind=%s entry_id=%s object_id=%s attempts=%d retry_in=%.2fs error="%s"',
            entry.kind,
            entry.pk,
            entry.object_id,
            entry.attempts,
            result.retry_in,
            result.error,
        )


def _publish_retries(retries: list[Result]) -> None:
    """Each failed attempt's next one goes to the single-entry path, after its backoff, with the
    pending entries that run after it (an invoice's e-mail), as the publish after a commit would."""
    if not retries:
        return
    followers: dict[int, list[Ref]] = defaultdict(list)
    for after_id, *ref in Entry.objects.filter(
        after_id__in=[r.entry.pk for r in retries], status=EntryStatus.PENDING
    ).values_list("after_id", "pk", "kind", "object_id"):
        followers[after_id].append(Ref(*ref))
    for result in retries:
        entry = result.entry
        publish(
            [Ref(entry.pk, entry.kind, entry.object_id), *followers[entry.pk]],
            stamped=True,
            countdown=result.retry_in,
        )


def _hand_back(entries: list[Entry]) -> None:
    """Publishes a single-entry run of each claimed entry for when its lease ends (the database is
    gone: nothing is written; a run that finds the entry still held waits, one that finds it
    settled does nothing). A broker that is down too leaves them to the sweeper."""
    now = timezone.now()
    for entry in entries:
        countdown = max((entry.claimed_until - now).total_seconds(), 0) + 1 if entry.claimed_until else 0
        try:
            run_entry_task.apply_async(
                kwargs={"entry_id": entry.pk, "kind": entry.kind, "object_id": entry.object_id},
                countdown=countdown,
            )
        except Exception as exc:  # the sweeper publishes it once its lease has lapsed
            left_for_sweeper([entry.pk], exc, stamped=False)
