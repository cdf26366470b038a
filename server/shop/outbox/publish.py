"""Owing work and publishing it.

    invoice = owe("invoice", order.pk)                       # in the transaction that owes it
    email = owe("order_confirmation", order.pk, after=invoice)
    publish_on_commit(invoice, email)                        # one message: invoice, then e-mail

    publish_on_commit(*owe_in_order(order.pk, "invoice", "order_confirmation"))  # the same, one insert

Entries are inserted already stamped as published (`enqueued_at`), and the publish after the
commit only writes again when the broker refuses it: owing work costs one insert per entry, or
one per chain of them with `owe_in_order`. A
rolled-back transaction publishes nothing; a broker that is down fails the publish, not the
request, and the sweeper publishes the entry later."""

import functools
import logging
import math
from collections.abc import Sequence
from contextlib import suppress
from functools import partial
from typing import NamedTuple

from celery import chain
from django.conf import settings
from django.core.cache import caches
from django.db import connection, transaction
from django.utils import timezone
from django_guid import get_guid
from kombu.exceptions import ChannelError

from config.celery import app

from . import kinds, rows
from .models import Entry
from .tasks import drain_task, run_entry_task

logger = logging.getLogger(__name__)


def owe(kind: str, object_id: int, *, after: Entry | None = None) -> Entry:
    """The work of `kind` about `object_id` is owed from now on (call it inside the transaction
    that makes it owed). `after`: an entry that must be settled before this one runs."""
    kinds.get(kind)  # an unknown kind fails here, in the request that owes it, not in a worker
    return Entry.objects.create(
        kind=kind,
        object_id=object_id,
        after=after,
        enqueued_at=timezone.now(),
        request_id=get_guid() or "",  # its work logs under the request's id, in whichever batch it runs
    )


def owe_in_order(object_id: int, *kind_names: str) -> list[Entry]:
    """The works `kind_names` about `object_id` are owed from now on, each after the one before it
    (the first after none), as a chain of `owe` calls would owe them. On PostgreSQL in one
    statement, which draws the entries' ids from the table's sequence first so that each can
    name the one before (0.21 ms of CPU against 0.63 for two `owe`s, measured in-process); on
    other databases (SQLite, `make run`) one `owe` each."""
    for name in kind_names:
        kinds.get(name)  # an unknown kind fails here, as in `owe`
    owed = _owed_in_one_statement if connection.vendor == "postgresql" else _owed_one_by_one
    return owed(object_id, kind_names)


def _owed_one_by_one(object_id: int, kind_names: Sequence[str]) -> list[Entry]:
    entries: list[Entry] = []
    for name in kind_names:
        entries.append(owe(name, object_id, after=entries[-1] if entries else None))
    return entries


def _owed_in_one_statement(object_id: int, kind_names: Sequence[str]) -> list[Entry]:
    sql, shared = _chain_sql()
    first = Entry(
        kind=kind_names[0], object_id=object_id, enqueued_at=timezone.now(), request_id=get_guid() or ""
    )
    values = [field.get_db_prep_save(field.pre_save(first, add=True), connection) for field in shared]
    with connection.cursor() as cursor:
        cursor.execute(sql, [list(kind_names), *values])
        owed = rows.entries(cursor.fetchall())
    return sorted(owed, key=lambda entry: kind_names.index(entry.kind))


# Every column but these three is the same for all entries of a chain (as `owe` would write it).
_CHAIN_OWN = ("id", "kind", "after_id")
_CHAIN = """
WITH chain AS MATERIALIZED (
    SELECT n, kind, nextval(pg_get_serial_sequence('{table}', '{id_column}')) AS id
    FROM unnest(%s::text[]) WITH ORDINALITY AS given (kind, n)
)
INSERT INTO {quoted_table} ({id}, {kind}, {after}, {shared})
SELECT chain.id, chain.kind, before.id, {values}
FROM chain LEFT JOIN chain AS before ON before.n = chain.n - 1
ORDER BY chain.n
RETURNING {returned}
"""


@functools.cache
def _chain_sql() -> tuple[str, list]:
    """`owe_in_order`'s statement and the fields it takes from the first entry; built once."""
    quote = connection.ops.quote_name
    fields = Entry._meta.concrete_fields
    shared = [field for field in fields if field.attname not in _CHAIN_OWN]
    own = {field.attname: field.column for field in fields if field.attname in _CHAIN_OWN}
    sql = _CHAIN.format(
        table=Entry._meta.db_table,
        quoted_table=quote(Entry._meta.db_table),
        id_column=own["id"],
        id=quote(own["id"]),
        kind=quote(own["kind"]),
        after=quote(own["after_id"]),
        shared=", ".join(quote(field.column) for field in shared),
        values=", ".join(f"%s::{field.db_type(connection)}" for field in shared),
        returned=rows.returning(),
    )
    return sql, shared


class Ref(NamedTuple):
    """What a publish needs of an entry: its id, and its kind and object for the task's log lines."""

    pk: int
    kind: str
    object_id: int


def publish_on_commit(*entries: Entry) -> None:
    """After the commit, publishes the entries: with batches (OUTBOX_BATCH_SIZE, a broker), one
    message that wakes a drain, which takes them with whatever else is ready; otherwise (in-process
    tasks, or batches off) one message that runs each, one after the other."""
    refs = [Ref(entry.pk, entry.kind, entry.object_id) for entry in entries]
    if settings.OUTBOX_BATCH_SIZE and not app.conf.task_always_eager:
        transaction.on_commit(partial(wake, refs))
    else:
        transaction.on_commit(partial(publish, refs, stamped=True))


# Set while a drain waits in the queue (shop.outbox.tasks.drain deletes it before it claims): a
# commit that finds it set publishes nothing, since that drain will see its entries. Short-lived
# (this long past the drain's start, OUTBOX_DRAIN_DELAY from its publish), so a drain that was
# lost costs the next commits at most that long.
DRAIN_WAITING = "outbox:drain-waiting"
DRAIN_WAITING_SECONDS = 2


def wake(entries: Sequence[Ref] = ()) -> bool:
    """Publishes a drain (shop.outbox.batch) to start OUTBOX_DRAIN_DELAY from now, which runs every
    ready entry, `entries` among them, unless one is already waiting to start; returns whether a
    drain will come. The work owed until it starts joins its batch. When the broker refuses it,
    the entries' stamps are cleared, so the sweeper publishes them (as `publish` does for stamped
    entries). Memcached lost: every commit publishes its own drain, as without it."""
    waiting = caches["outbox"]
    delay = settings.OUTBOX_DRAIN_DELAY
    with suppress(Exception):  # Memcached lost: fail open, a drain per commit
        if not waiting.add(DRAIN_WAITING, 1, timeout=math.ceil(delay + DRAIN_WAITING_SECONDS)):
            return True  # that drain has not claimed yet: it will take these entries
    try:
        drain_task.apply_async(countdown=delay if delay > 0 else None)
    except Exception as exc:  # kombu/redis connection errors: the sweeper will publish them
        with suppress(Exception):
            waiting.delete(DRAIN_WAITING)
        left_for_sweeper([entry.pk for entry in entries], exc, stamped=True)
        return False
    return True


def drain_started() -> None:
    """Called by a drain before it claims: a commit from now on publishes a drain of its own."""
    with suppress(Exception):  # Memcached lost: commits publish anyway
        caches["outbox"].delete(DRAIN_WAITING)


def left_for_sweeper(entry_ids: list[int], exc: Exception, *, stamped: bool) -> None:
    """The broker did not take these entries' runs: one `enqueue_failed` line, and the sweeper
    publishes them later. `stamped` entries lose the publish stamp that kept the sweeper away."""
    logger.warning(
        'event=enqueue_failed entry_ids=%s error="%s: %s" action=left_for_sweeper',
        ",".join(map(str, entry_ids)),
        type(exc).__name__,
        exc,
    )
    if stamped and entry_ids:
        Entry.objects.filter(pk__in=entry_ids).update(enqueued_at=None)


def publish(entries: Sequence[Ref | Entry], *, stamped: bool = False, countdown: float | None = None) -> bool:
    """Publishes a run of each entry, in order, as one message; returns whether the broker took
    it. The entries carry the time of the publish (`enqueued_at`), so the sweeper leaves them
    alone while they may still wait in the queue: stamped here after the broker took them, or,
    for `stamped` entries (stamped when inserted), cleared here when it did not. A process that
    dies between the commit and the publish leaves stamped entries that were never published:
    the sweeper takes them once the queue is empty (`resume_pending_work`). `countdown`: run
    that many seconds from now (a retry's backoff)."""
    runs = [run_entry_task.si(entry_id=e.pk, kind=e.kind, object_id=e.object_id) for e in entries]
    entry_ids = [entry.pk for entry in entries]
    try:
        (runs[0] if len(runs) == 1 else chain(*runs)).apply_async(countdown=countdown)
    except Exception as exc:  # kombu/redis connection errors: the sweeper will publish it again
        left_for_sweeper(entry_ids, exc, stamped=stamped)
        return False
    if not stamped:
        Entry.objects.filter(pk__in=entry_ids).update(enqueued_at=timezone.now())
    return True


def queue_backlog() -> int | None:
    """Messages waiting in the task queue (not those a worker is running); None when the broker
    cannot be asked. In-process tasks (no broker) never wait."""
    if app.conf.task_always_eager:
        return 0
    try:
        with app.connection_for_read() as connection:
            declared = connection.default_channel.queue_declare(
                queue=settings.CELERY_TASK_DEFAULT_QUEUE, passive=True
            )
            return declared.message_count
    except ChannelError:  # the queue does not exist (yet): nothing waits in it
        return 0
    except Exception as exc:  # the broker is down: publishing will fail too
        logger.warning('event=broker_unreachable error="%s: %s"', type(exc).__name__, exc)
        return None
