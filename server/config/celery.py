"""The Celery app. Settings come from Django's (`CELERY_*`); tasks are found in every app's
`tasks.py`. Every task logs one key=value line when it starts, succeeds, retries or fails."""

import logging
import os

from celery import Celery, signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")

app = Celery("shop")
app.config_from_object("django.conf:settings", namespace="CELERY")
if not app.conf.broker_url:  # no broker: tasks run in-process (`make run`); nothing to connect to
    app.conf.broker_url = "memory://"
app.autodiscover_tasks()

logger = logging.getLogger("shop.tasks")


def _context(task, task_id=None, kwargs=None) -> str:
    request = getattr(task, "request", None)
    task_id = task_id or getattr(request, "id", None)
    kwargs = kwargs if kwargs is not None else (getattr(request, "kwargs", None) or {})
    order = f" order_id={kwargs['order_id']}" if "order_id" in kwargs else ""
    return f"task={task.name} task_id={task_id}{order}"


@signals.task_prerun.connect
def _log_start(sender=None, task_id=None, task=None, kwargs=None, **_):
    attempt = (task.request.retries or 0) + 1
    logger.info("event=task_started %s attempt=%d", _context(task, task_id, kwargs), attempt)


@signals.task_success.connect
def _log_success(sender=None, **_):
    logger.info("event=task_succeeded %s", _context(sender))


@signals.task_retry.connect
def _log_retry(sender=None, request=None, reason=None, **_):
    kwargs = getattr(request, "kwargs", None) or {}
    attempt = (getattr(request, "retries", 0) or 0) + 1
    exc = getattr(reason, "exc", None) or reason  # celery passes a Retry that wraps the cause
    delay = getattr(reason, "when", None)
    if getattr(request, "is_eager", False):
        delay = "0s eager=true"  # in-process (eager) tasks are retried at once, whatever the countdown
    elif isinstance(delay, int | float):
        delay = f"{delay:.2f}s"
    logger.warning(
        'event=task_retry %s attempt=%d retry_in=%s reason="%s: %s"',
        _context(sender, request.id, kwargs),
        attempt,
        delay,
        type(exc).__name__,
        exc,
    )


@signals.task_failure.connect
def _log_failure(sender=None, task_id=None, exception=None, kwargs=None, **_):
    logger.error(
        'event=task_failed %s error="%s: %s"',
        _context(sender, task_id, kwargs),
        type(exception).__name__,
        exception,
    )
