"""Liveness and readiness probes."""

import uuid

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from kombu import Connection

from .error_codes import ApiErrorCode
from .problems import problem_response


def healthz(request: HttpRequest) -> HttpResponse:
    """200 while the process serves requests; touches nothing else."""
    return JsonResponse({"status": "ok"})


def _database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return True
    except Exception:
        return False


def _cache_ok() -> bool:
    # The cache fails open (a dead Memcached reads as a miss), so only a round trip tells.
    key = f"readyz:{uuid.uuid4().hex}"
    try:
        cache.set(key, "1", timeout=5)
        ok = cache.get(key) == "1"
        cache.delete(key)
        return ok
    except Exception:
        return False


def _broker_ok() -> bool:
    try:
        with Connection(settings.CELERY_BROKER_URL, connect_timeout=1) as conn:
            conn.ensure_connection(max_retries=1, timeout=1)
        return True
    except Exception:
        return False


def readyz(request: HttpRequest) -> HttpResponse:
    """200 when the database, the cache and (if one is configured) the broker answer; 503 naming
    the ones that do not."""
    checks = {"database": _database_ok(), "cache": _cache_ok()}
    if getattr(settings, "CELERY_BROKER_URL", None):
        checks["broker"] = _broker_ok()
    states = {name: "ok" if ok else "down" for name, ok in checks.items()}
    if all(checks.values()):
        return JsonResponse({"status": "ok", "checks": states})
    down = ", ".join(name for name, ok in checks.items() if not ok)
    return problem_response(
        status=503, code=ApiErrorCode.SERVICE_UNAVAILABLE, detail=f"Not ready: {down}.", checks=states
    )
