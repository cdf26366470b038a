"""One attempt at an outbox row's work, in two commits around it (see `OutboxRow`).

    row = claim(Invoice, order_id=order.pk, failed=InvoiceStatus.FAILED, max_attempts=4)
    if row is None:
        return                                  # done, skipped, or given up
    # (ClaimHeld is raised while another attempt holds the row: the task retries at lease end)
    ... the work: render a file, send an e-mail, call the partner (no transaction open) ...
    settle(row, status=InvoiceStatus.READY)     # or settle(row, error=...) to leave it pending

The claim commits the attempt (and `claimed_until`) before the work starts, so a worker killed
in the middle leaves the attempt counted and the row claimed until the lease ends; after that
the row can be taken again. Attempts are counted in the row, so retries, redeliveries and the
sweeper's republishing share one bound: past `max_attempts` the row is failed, not tried."""

import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypeVar

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from .models import OutboxRow

logger = logging.getLogger(__name__)

Row = TypeVar("Row", bound=OutboxRow)
PENDING = "pending"


class ClaimHeld(Exception):
    """Another attempt holds the row (it is running, or its worker died and the lease has not run
    out): try again in `seconds`, when it has finished or its lease has ended."""

    def __init__(self, model: str, order_id: int, seconds: float) -> None:
        super().__init__(f"{model} of order {order_id} is held by another attempt for {seconds:.0f}s")
        self.model, self.order_id, self.seconds = model, order_id, seconds

    def __reduce__(self):  # the pool process hands it to the worker pickled: keep its arguments
        return type(self), (self.model, self.order_id, self.seconds)


def lease() -> timedelta:
    """How long a claim holds: no task outlives Celery's hard time limit."""
    return timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT)


def claim(
    model: type[Row],
    *,
    failed: str,
    max_attempts: int,
    during: Callable[[Row], Any] | None = None,
    **lookup: Any,
) -> Row | None:
    """Claims the pending row found by `lookup` for one attempt and commits. Returns the row, or
    None when there is nothing to do: it is done (or skipped, or failed), or its attempts are used
    up (then it is marked `failed`). Raises ClaimHeld while another attempt holds it. `during(row)`
    runs inside the claiming transaction (to record the attempt's intent)."""
    now = timezone.now()
    with transaction.atomic():
        row = model.objects.select_for_update(of=("self",)).get(**lookup)
        if row.status != PENDING:
            return None
        if row.claimed_until and row.claimed_until > now:
            raise ClaimHeld(model.__name__, row.order_id, (row.claimed_until - now).total_seconds())
        if row.attempts >= max_attempts:
            row.status = failed
            row.error = row.error or "gave up: no attempt left"
            row.claimed_until = None
            row.save(update_fields=["status", "error", "claimed_until"])
            logger.error(
                "event=outbox_gave_up model=%s order_id=%s attempts=%d",
                model.__name__,
                row.order_id,
                row.attempts,
            )
            return None
        row.attempts += 1
        row.claimed_until = now + lease()
        row.save(update_fields=["attempts", "claimed_until"])
        if during is not None:
            during(row)
    return row


def settle(row: OutboxRow, *, status: str | None = None, error: str = "", **fields: Any) -> None:
    """Records the attempt's outcome and releases the claim, in a commit of its own. Without a
    `status` the row stays pending (the attempt failed and may be tried again)."""
    changes = {"claimed_until": None, "error": error[:2000], **fields}
    if status is not None:
        changes["status"] = status
    for name, value in changes.items():
        setattr(row, name, value)
    row.save(update_fields=list(changes))  # a save, not an update(): post_save invalidates caches


def last_attempt(row: OutboxRow, max_attempts: int) -> bool:
    return row.attempts >= max_attempts
