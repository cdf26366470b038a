"""The outbox's two tasks: the one that runs every entry, and beat's sweeper."""

from celery import Task, shared_task
from django.conf import settings
from django.db import DatabaseError, close_old_connections

from shop.core.errors import database_gone


class EntryTask(Task):
    abstract = True

    def on_failure(self, exc, task_id, args, kwargs, einfo) -> None:
        """An error outside the attempt itself (a kind that is not registered, a bug in the
        claim): written on the entry, which stays pending; the sweeper publishes it again."""
        if database_gone(exc):
            return  # nothing could be recorded, the entry stays pending: the sweeper publishes it again
        from .models import Entry, EntryStatus

        Entry.objects.filter(pk=kwargs.get("entry_id"), status=EntryStatus.PENDING).update(
            error=f"{type(exc).__name__}: {exc}"[:2000]
        )


@shared_task(name="shop.outbox.tasks.run_entry", bind=True, base=EntryTask, max_retries=None)
def run_entry_task(self, *, entry_id: int, kind: str = "", object_id: int | None = None) -> None:
    """Runs one outbox entry (see shop.outbox.runner); `kind` and `object_id` are only for the
    task's log lines (config/celery.py), the entry says what to do. Its attempts are bounded by the entry,
    not by Celery: a retry here is another attempt the entry allows, a wait for a claim that is
    held, or a wait for the database to come back (neither of the last two uses an attempt)."""
    from .claims import ClaimHeld
    from .runner import RetryLater, backoff, run

    try:
        run(entry_id)
    except ClaimHeld as exc:
        if self.request.is_eager:  # in-process, the holder is this very call stack
            return
        raise self.retry(exc=exc, countdown=exc.seconds + 1) from exc
    except RetryLater as exc:
        raise self.retry(exc=exc.__cause__ or exc, countdown=exc.countdown) from exc
    except DatabaseError as exc:
        if not database_gone(exc):
            raise
        # The database went away (refused, lost, restarting; through a pooler, a COMMIT whose
        # server connection was killed): not a failure of the work. The broken connection is
        # dropped and the task comes back after a backoff capped at DATABASE_RETRY_MAX_DELAY,
        # for as long as it takes; the entry stays as the last commit left it (pending, or
        # claimed until its lease ends).
        if self.request.is_eager:
            raise
        close_old_connections()
        delay = min(backoff(self.request.retries, 1.0), settings.DATABASE_RETRY_MAX_DELAY)
        raise self.retry(exc=exc, countdown=delay) from exc


@shared_task(name="shop.outbox.tasks.drain", bind=True, max_retries=None)
def drain_task(self) -> dict[str, int]:
    """Runs the ready entries in batches (shop.outbox.batch) until none is left or the drain's time
    is up; a batch that came back full publishes another drain first, for another worker process
    to share the rest. With OUTBOX_DRAIN_DELAY, a batch that came back short ends the drain and
    publishes the next one that much later, so that the work owed meanwhile fills one batch
    instead of each commit's few entries making a batch of their own. A drain carries no entry:
    any drain runs whatever is ready, so a lost or duplicated one costs nothing (the sweeper
    covers what no drain takes), and while one waits in the queue commits publish no other
    (shop.outbox.publish.wake)."""
    from .batch import drain
    from .publish import drain_started, wake
    from .runner import backoff

    drain_started()
    try:
        drained = drain(on_full=wake, on_partial=wake if settings.OUTBOX_DRAIN_DELAY > 0 else None)
    except DatabaseError as exc:
        if not database_gone(exc) or self.request.is_eager:
            raise
        # As for a single entry: the database went away; the claimed entries stay claimed until
        # their lease ends (then the sweeper publishes them); this drain comes back later.
        close_old_connections()
        delay = min(backoff(self.request.retries, 1.0), settings.DATABASE_RETRY_MAX_DELAY)
        raise self.retry(exc=exc, countdown=delay) from exc
    return {"batches": drained.batches, **drained.outcomes}


@shared_task(name="shop.outbox.tasks.resume_pending_work")
def resume_pending_work_task() -> dict[str, int]:
    """Beat's sweeper: publishes again the work that is still pending."""
    from .sweeper import resume_pending_work

    return resume_pending_work()
