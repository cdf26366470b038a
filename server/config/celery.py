"""The Celery app. Settings come from Django's (`CELERY_*`); tasks are found in every app's
`tasks.py`. Every task logs one key=value line when it starts, succeeds, retries or fails, and is
counted and timed for Prometheus (shop/api/metrics.py)."""

import logging
import os
import time

from celery import Celery, signals

from shop.core.logs import Pairs

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")

app = Celery("shop")
app.config_from_object("django.conf:settings", namespace="CELERY")
if not app.conf.broker_url:  # no broker: tasks run in-process (`make run`); nothing to connect to
    app.conf.broker_url = "memory://"
app.autodiscover_tasks()

logger = logging.getLogger("shop.tasks")
_started: dict[str, float] = {}  # task id -> time.perf_counter() at its start, in this process


@signals.worker_ready.connect
def _serve_metrics(sender=None, **_):
    """The worker's task metrics on WORKER_METRICS_BIND (host:port), from every pool process."""
    from django.conf import settings

    if settings.WORKER_METRICS_BIND:
        from prometheus_client import start_http_server

        from shop.api.metrics import registry

        host, _, port = settings.WORKER_METRICS_BIND.rpartition(":")
        start_http_server(int(port), addr=host or "0.0.0.0", registry=registry())
        logger.info("event=metrics_served bind=%s", settings.WORKER_METRICS_BIND)


@signals.task_prerun.connect
@signals.task_postrun.connect
def _close_old_connections(sender=None, **_):
    """What Django does around every request, around every task: close a database connection that
    broke or outlived CONN_MAX_AGE (the next query opens a new one, health-checked), keep the others
    (CELERY_DB_REUSE_MAX stops Celery from closing every connection after every task)."""
    if sender is not None and not getattr(sender.request, "is_eager", False):
        from django.db import close_old_connections

        close_old_connections()


@signals.task_postrun.connect
def _observe_duration(sender=None, task_id=None, **_):
    from shop.api.metrics import TASK_DURATION

    started = _started.pop(task_id, None)
    if started is not None:
        TASK_DURATION.labels(sender.name).observe(time.perf_counter() - started)


def _count(task, outcome: str) -> None:
    from shop.api.metrics import TASK_RUNS

    TASK_RUNS.labels(task.name, outcome).inc()


def _context(task, task_id=None, kwargs=None) -> Pairs:
    request = getattr(task, "request", None)
    task_id = task_id or getattr(request, "id", None)
    kwargs = kwargs if kwargs is not None else (getattr(request, "kwargs", None) or {})
    entry = ""
    if "entry_id" in kwargs:  # an outbox entry: which one, of what kind, about which object
        entry = f" entry_id={int(kwargs['entry_id'])}"
        if kwargs.get("kind"):
            entry += f" kind={str(kwargs['kind'])[:40]} object_id={int(kwargs['object_id'])}"
    return Pairs(f"task={task.name} task_id={task_id}{entry}")


def _adopt_request_id(task) -> None:
    """The X-Request-ID of the request that published the task (django-guid puts it in the
    message's headers and sets it too, but in a receiver that runs after this one)."""
    from django_guid import get_guid, set_guid

    given = task.request.get("X-Request-ID")
    if given and get_guid() != given:
        set_guid(given)


@signals.task_prerun.connect
def _log_start(sender=None, task_id=None, task=None, kwargs=None, **_):
    _started[task_id] = time.perf_counter()
    _adopt_request_id(task)
    attempt = (task.request.retries or 0) + 1
    logger.info("event=task_started %s attempt=%d", _context(task, task_id, kwargs), attempt)


@signals.task_success.connect
def _log_success(sender=None, **_):
    _count(sender, "succeeded")
    logger.info("event=task_succeeded %s", _context(sender))


@signals.task_retry.connect
def _log_retry(sender=None, request=None, reason=None, **_):
    _count(sender, "retried")
    kwargs = getattr(request, "kwargs", None) or {}
    attempt = (getattr(request, "retries", 0) or 0) + 1
    exc = getattr(reason, "exc", None) or reason  # celery passes a Retry that wraps the cause
    delay = getattr(reason, "when", None)
    if getattr(request, "is_eager", False):
        delay = Pairs("0s eager=true")  # in-process (eager) tasks are retried at once, whatever the countdown
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
    _count(sender, "failed")
    logger.error(
        'event=task_failed %s error="%s: %s"',
        _context(sender, task_id, kwargs),
        type(exception).__name__,
        exception,
    )
