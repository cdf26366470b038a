"""The registry of kinds of work. Each app registers its kinds from `AppConfig.ready()`:

    register(Kind("invoice", run=generate_invoice, settings_prefix="INVOICE"))

`run(entry)` does the work, with no transaction open, and returns an `Outcome` (done, skipped,
or failed for good), optionally with domain rows to write in the commit that records it. Any
exception is a failed attempt: recorded on the entry and retried after `<prefix>_RETRY_BACKOFF *
2^n` seconds while attempts remain (`<prefix>_MAX_RETRIES` + 1 in all); `TryAgain` also carries
rows to write with the failure (a partner's answer).

A record that writes one row keyed by a unique constraint is best an `Upsert`: a batch writes all
of its kind's in one statement (`write_records`) instead of one each."""

from collections import defaultdict
from collections.abc import Callable, Hashable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from functools import partial

from django.conf import settings
from django.db import models, transaction

from .models import Entry, EntryStatus

Record = Callable[[], object]


@dataclass(frozen=True)
class Upsert:
    """A record that inserts `row`, or updates the row that has its `unique_fields` with its
    `update_fields`; after the commit, `then(key)` (a cache to drop), the key being the row's
    value of its unique field (a tuple of them for several). In a batch's commit, the upserts of
    one model, fields and `then` are one INSERT ... ON CONFLICT and one call of `then(*keys)`;
    alone (a single entry's settle), its own."""

    row: models.Model
    unique_fields: tuple[str, ...]
    update_fields: tuple[str, ...]
    then: Callable[..., object] | None = None

    def __call__(self) -> None:
        write_records([self])

    def key(self) -> Hashable:
        meta = self.row._meta
        values = tuple(getattr(self.row, meta.get_field(name).attname) for name in self.unique_fields)
        return values[0] if len(values) == 1 else values


def write_records(records: Sequence[Record]) -> None:
    """Writes a batch's records in the caller's transaction: the upserts grouped (the last row
    for a key wins, as one by one in order), any other record called as it is."""
    groups: dict[tuple, dict[Hashable, Upsert]] = defaultdict(dict)
    for record in records:
        if not isinstance(record, Upsert):
            record()
            continue
        group = groups[(type(record.row), record.unique_fields, record.update_fields, record.then)]
        key = record.key()
        group.pop(key, None)
        group[key] = record
    for (model, unique_fields, update_fields, then), upserts in groups.items():
        model._default_manager.bulk_create(
            [upsert.row for upsert in upserts.values()],
            update_conflicts=True,
            unique_fields=unique_fields,
            update_fields=update_fields,
        )
        if then is not None:
            transaction.on_commit(partial(then, *upserts.keys()))


@dataclass(frozen=True)
class Outcome:
    """How a run ended: `status` DONE, SKIPPED or FAILED (refused for good, no retry would help),
    `note` kept on the entry (why it was skipped or refused), and `record`, called inside the
    transaction that settles the entry (the domain's own rows: a file's path, a partner's answer)."""

    status: str = EntryStatus.DONE
    note: str = ""
    record: Record | None = None


class TryAgain(Exception):
    """The work could not be done now (the partner is down): a failed attempt, whose `record`
    is written with it."""

    def __init__(self, reason: str, *, record: Record | None = None) -> None:
        super().__init__(reason)
        self.record = record


@dataclass(frozen=True)
class Kind:
    """A kind of work: its name (stored in every entry: never rename one that has entries), what
    runs it, the prefix of its retry settings, `on_claim(entry)`, run in the claiming transaction
    (to record the attempt's intent before anything outside is called), and `batch(entries)`, a
    context manager entered around the runs of a batch of its entries (shop.outbox.batch), for
    what they can share (one SMTP connection, their objects read at once: shop.outbox.preload)."""

    name: str
    run: Callable[[Entry], Outcome]
    settings_prefix: str
    on_claim: Callable[[Entry], None] | None = None
    batch: Callable[[list[Entry]], AbstractContextManager] | None = None

    @property
    def max_attempts(self) -> int:
        return getattr(settings, f"{self.settings_prefix}_MAX_RETRIES") + 1

    @property
    def backoff(self) -> float:
        return getattr(settings, f"{self.settings_prefix}_RETRY_BACKOFF")


_kinds: dict[str, Kind] = {}


def register(kind: Kind) -> Kind:
    if _kinds.get(kind.name, kind) != kind:
        raise ValueError(f"outbox kind {kind.name!r} is registered twice")
    _kinds[kind.name] = kind
    return kind


def get(name: str) -> Kind:
    try:
        return _kinds[name]
    except KeyError:
        raise LookupError(f"no outbox kind {name!r} is registered (known: {', '.join(names())})") from None


def names() -> tuple[str, ...]:
    return tuple(sorted(_kinds))
