"""The registry of kinds of work. Each app registers its kinds from `AppConfig.ready()`:

    register(Kind("invoice", run=generate_invoice, settings_prefix="INVOICE"))

`run(entry)` does the work, with no transaction open, and returns an `Outcome` (done, skipped,
or failed for good), optionally with domain rows to write in the commit that records it. Any
exception is a failed attempt: recorded on the entry and retried after `<prefix>_RETRY_BACKOFF *
2^n` seconds while attempts remain (`<prefix>_MAX_RETRIES` + 1 in all); `TryAgain` also carries
rows to write with the failure (a partner's answer)."""

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass

from django.conf import settings

from .models import Entry, EntryStatus

Record = Callable[[], object]


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
