"""pytest: the real services at their usual localhost ports (or the URLs in the environment) when
they answer, the embedded defaults otherwise. Tests that need a real service say so with a marker
(`postgres`, `memcached`, `redis`) and are skipped, naming the service, when it is missing, or fail
when REQUIRE_SERVICES=1 (CI)."""

import os
import socket


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.3):
            return True
    except OSError:
        return False


# A service found at its usual port is configured exactly as the environment variable would (and
# as CI does): the same connection age, health checks, pool and timeouts.
if not os.environ.get("DATABASE_URL") and _reachable("127.0.0.1", 5432):
    os.environ["DATABASE_URL"] = "postgres://postgres@127.0.0.1:5432/shop"
if not os.environ.get("MEMCACHED_LOCATION") and _reachable("127.0.0.1", 11211):
    os.environ["MEMCACHED_LOCATION"] = "127.0.0.1:11211"

# The CORS middleware is installed only where origins are configured: the tests configure one.
os.environ.setdefault("CORS_ALLOWED_ORIGINS", "http://localhost:5173")

from .base import *  # noqa: E402, F403
from .base import CACHES, env, raising_cache  # noqa: E402

SECRET_KEY = "test-only-not-a-secret-but-long-enough-for-hs256"
DEBUG = False
OPENAPI_VALIDATE_RESPONSES = True
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

CACHES["default"]["KEY_PREFIX"] = "shop-test"
CACHES["throttle"] = CACHES["invalidation"] = CACHES["outbox"] = raising_cache(CACHES["default"])

if "CELERY_BROKER_URL" not in env and _reachable("127.0.0.1", 6379):
    CELERY_BROKER_URL = "redis://127.0.0.1:6379/15"
    CELERY_RESULT_BACKEND = "redis://127.0.0.1:6379/14"

# No collectstatic before tests: serve from the finders, without the manifest.
STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}  # noqa: F405
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True

if "EMAIL_URL" not in env:
    EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
# Tasks run in-process unless a test starts a worker; retries wait no real time.
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=True)
DJANGO_GUID = request_id_settings(CELERY_TASK_ALWAYS_EAGER)  # noqa: F405
EXTERNAL_API_URL = env("EXTERNAL_API_URL", default="http://127.0.0.1:9/never-called")
EXTERNAL_API_RETRY_BACKOFF = env.float("EXTERNAL_API_RETRY_BACKOFF", default=0.01)
LOGGING["root"]["level"] = env("LOG_LEVEL", default="WARNING")  # noqa: F405
