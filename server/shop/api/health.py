"""Liveness and readiness probes."""

import functools
import threading
import time
import uuid

import redis
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from kombu import Connection

from shop.core.error_codes import ApiErrorCode

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


@functools.cache
def _redis(url: str) -> redis.Redis:
    """One client per broker URL, kept: redis-py's pool of one connection reconnects when it broke."""
    return redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1, max_connections=1)


def _broker_ok() -> bool:
    """A Redis broker is pinged over one kept connection; another broker is connected to as kombu
    would."""
    url = settings.CELERY_BROKER_URL
    try:
        if url.startswith(("redis://", "rediss://")):
            return bool(_redis(url).ping())
        with Connection(url, connect_timeout=1) as conn:
            conn.ensure_connection(max_retries=1, timeout=1)
        return True
    except Exception:
        return False


# Each web process checks its services at most once per READYZ_CACHE_SECONDS, whatever the number
# of probes or clients asking (the endpoint is anonymous: a flood of it costs no more than this).
_verdict_lock = threading.Lock()
_verdict: tuple[float, dict[str, bool]] | None = None


def _checks() -> dict[str, bool]:
    global _verdict
    with _verdict_lock:
        now = time.monotonic()
        if _verdict is not None and now < _verdict[0]:
            return _verdict[1]
        checks = {"database": _database_ok(), "cache": _cache_ok()}
        if getattr(settings, "CELERY_BROKER_URL", None):
            checks["broker"] = _broker_ok()
        _verdict = (now + settings.READYZ_CACHE_SECONDS, checks)
        return checks


def forget_verdict() -> None:
    global _verdict
    with _verdict_lock:
        _verdict = None


def readyz(request: HttpRequest) -> HttpResponse:
    """200 when the database, the cache and (if one is configured) the broker answer; 503 naming
    the ones that do not. Checked at most once per READYZ_CACHE_SECONDS per process."""
    checks = _checks()
    states = {name: "ok" if ok else "down" for name, ok in checks.items()}
    if all(checks.values()):
        return JsonResponse({"status": "ok", "checks": states})
    down = ", ".join(name for name, ok in checks.items() if not ok)
    return problem_response(
        status=503, code=ApiErrorCode.SERVICE_UNAVAILABLE, detail=f"Not ready: {down}.", checks=states
    )
