"""Prometheus metrics (the official prometheus-client), for operators, not part of the contract.

Every label has a bounded set of values: the contract's operationId (never the raw path), the
status class, the cached view, the task name, the problem code. gunicorn and Celery run several
processes; with PROMETHEUS_MULTIPROC_DIR set (server/bin/web and server/bin/worker set it), each
process writes its samples there and a scrape adds them up (prometheus-client's multiprocess mode).
The outbox figures are read from the database at scrape time, so they are exact whichever process
wrote the rows.

The web serves `/metrics` to callers presenting `Authorization: Bearer $METRICS_TOKEN` (404
without a token configured); the worker serves its task metrics on WORKER_METRICS_BIND.
"""

from __future__ import annotations

import hmac
import json
import logging
import os
import time
from urllib.parse import quote

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)

from shop.outbox.metrics import OutboxCollector

access = logging.getLogger("shop.access")

REQUEST_DURATION = Histogram(
    "shop_http_request_duration_seconds",
    "Requests by the contract's operationId (`unmatched` outside it) and status class.",
    ["operation", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
CACHE_LOOKUPS = Counter(
    "shop_cache_lookups_total", "Cached views' lookups by outcome (hit or miss).", ["view", "result"]
)
ORDERS = Counter(
    "shop_orders_total",
    "Order placements: `placed`, or `refused` with the problem code (a replayed key counts once).",
    ["result", "code"],
)
TASK_RUNS = Counter(
    "shop_task_runs_total", "Celery task runs by outcome: succeeded, retried, failed.", ["task", "outcome"]
)
TASK_DURATION = Histogram(
    "shop_task_duration_seconds",
    "Celery task run time, every outcome.",
    ["task"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)


def status_class(status: int) -> str:
    return f"{status // 100}xx"


def registry() -> CollectorRegistry:
    """What a scrape reads: every process's samples (multiprocess mode) or this process's."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        collected = CollectorRegistry()
        multiprocess.MultiProcessCollector(collected)
        return collected
    return REGISTRY


def metrics_view(request: HttpRequest) -> HttpResponse:
    token = settings.METRICS_TOKEN
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if not token or scheme.lower() != "bearer" or not hmac.compare_digest(given.encode(), token.encode()):
        raise Http404  # the same answer as any unknown path: nothing to find here
    scrape = registry()
    outbox = CollectorRegistry()
    outbox.register(OutboxCollector())
    body = generate_latest(scrape) + generate_latest(outbox)
    return HttpResponse(body, content_type=CONTENT_TYPE_LATEST)


def count_order_placement(response: HttpResponse) -> None:
    """createOrder's outcome, whoever answered it (the contract, a throttle, the service)."""
    if response.status_code == 201:
        ORDERS.labels("replayed" if response.get("Idempotent-Replayed") else "placed", "").inc()
    elif 400 <= response.status_code < 500:
        try:
            code = json.loads(response.content).get("code", "unknown")
        except (ValueError, AttributeError):
            code = "unknown"
        ORDERS.labels("refused", code).inc()


def observe_requests(get_response):
    """Times every request and counts it by operationId (set by the contract middleware) and
    status class; logs one access line per request (gunicorn's own access log is off). The path
    is logged percent-encoded and cut at 200 characters: it is the client's text."""

    def middleware(request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = get_response(request)
        elapsed = time.perf_counter() - started
        operation = getattr(request, "operation_id", None) or "unmatched"
        REQUEST_DURATION.labels(operation, status_class(response.status_code)).observe(elapsed)
        if operation == "createOrder":
            count_order_placement(response)
        access.info(
            "event=request method=%s path=%s status=%d duration_ms=%.1f operation=%s",
            request.method,
            quote(request.path, safe="/")[:200],
            response.status_code,
            elapsed * 1000,
            operation,
        )
        return response

    return middleware
