"""The one pattern every background task follows (HackSoft's tasks, with Celery's hooks): the task
takes ids, imports its service lazily and calls it through `call`, which retries the errors worth
retrying after a settings-driven exponential backoff; when the retries run out, or on any other
error, Celery calls `on_failure`, which hands the failure to the task's `*_failed` service."""

import random
from collections.abc import Callable
from typing import Any

from celery import Task, shared_task
from django.conf import settings
from django.db import close_old_connections
from django.utils.module_loading import import_string

from shop.core.errors import DATABASE_ERRORS
from shop.orders.claims import ClaimHeld


def backoff(retries: int, base: float) -> float:
    """Exponential backoff with full jitter: base * 2^retries, plus up to one base at random."""
    return base * 2**retries + random.uniform(0, base)


class RetryingTask(Task):
    """Configured per task (as options of `@shared_task(base=RetryingTask, ...)`):

    - `retry_on`: the exceptions worth another try;
    - `backoff_setting` / `max_retries_setting`: the names of the settings with the base delay in
      seconds and the number of retries;
    - `failed_service`: dotted path of the service called as `failed(**task_kwargs, error=...)`.
    """

    abstract = True
    retry_on: tuple[type[Exception], ...] = ()
    backoff_setting: str = ""
    max_retries_setting: str = ""
    failed_service: str = ""

    def call(self, service: Callable[..., Any], **kwargs: Any) -> Any:
        try:
            return service(**kwargs)
        except ClaimHeld as exc:
            # Another attempt holds the row: come back when it has ended (or its dead worker's
            # lease has), without using up a retry. In-process, the holder is this very call stack.
            if self.request.is_eager:
                return None
            raise self.retry(
                exc=exc, countdown=exc.seconds + 1, max_retries=self.request.retries + 1
            ) from exc
        except DATABASE_ERRORS as exc:
            # The database went away (refused, lost, restarting): not a failure of the work. The
            # broken connection is dropped, and the task comes back after a backoff capped at
            # DATABASE_RETRY_MAX_DELAY, as often as it takes, without using up a retry; the row
            # stays as the last commit left it (pending, or claimed until its lease ends).
            if self.request.is_eager:
                raise
            close_old_connections()
            delay = min(backoff(self.request.retries, 1.0), settings.DATABASE_RETRY_MAX_DELAY)
            raise self.retry(exc=exc, countdown=delay, max_retries=self.request.retries + 1) from exc
        except self.retry_on as exc:
            raise self.retry(
                exc=exc,
                countdown=backoff(self.request.retries, getattr(settings, self.backoff_setting)),
                max_retries=getattr(settings, self.max_retries_setting),
            ) from exc

    def on_failure(self, exc, task_id, args, kwargs, einfo) -> None:
        if isinstance(exc, DATABASE_ERRORS):
            return  # nothing could be recorded, the work stays pending: the sweeper publishes it again
        import_string(self.failed_service)(**kwargs, error=f"{type(exc).__name__}: {exc}")


def retrying_task(name: str, *, retry_on: tuple[type[Exception], ...], settings_prefix: str, failed: str):
    """`@shared_task` with the pattern above: retries from `<prefix>_RETRY_BACKOFF` and
    `<prefix>_MAX_RETRIES`, failures handed to the service at dotted path `failed`."""
    return shared_task(
        name=name,
        bind=True,
        base=RetryingTask,
        retry_on=retry_on,
        backoff_setting=f"{settings_prefix}_RETRY_BACKOFF",
        max_retries_setting=f"{settings_prefix}_MAX_RETRIES",
        failed_service=failed,
    )
