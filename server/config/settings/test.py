"""pytest: the real services at their usual localhost ports (or the URLs in the environment) when
they answer, the embedded defaults otherwise. Tests that need a real service say so with a marker
(`postgres`, `memcached`, `redis`) and are skipped, naming the service, when it is missing, or fail
when REQUIRE_SERVICES=1 (CI)."""

import socket

from .base import *  # noqa: F403
from .base import CACHES, env, raising_cache


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.3):
            return True
    except OSError:
        return False


SECRET_KEY = "test-only-not-a-secret-but-long-enough-for-hs256"
DEBUG = False
OPENAPI_VALIDATE_RESPONSES = True
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

if "DATABASE_URL" not in env and _reachable("127.0.0.1", 5432):
    DATABASES = {"default": env.db_url_config("postgres://postgres@127.0.0.1:5432/shop")}
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True

if not MEMCACHED_LOCATION and _reachable("127.0.0.1", 11211):  # noqa: F405
    MEMCACHED_LOCATION = ["127.0.0.1:11211"]
    CACHES = {
        "default": {
            "BACKEND": "shop.api.cache.FailOpenPyMemcacheCache",
            "LOCATION": MEMCACHED_LOCATION,
            "OPTIONS": {"use_pooling": True, "ignore_exc": True, "connect_timeout": 0.2, "timeout": 0.2},
        }
    }
CACHES["default"]["KEY_PREFIX"] = "shop-test"
CACHES["throttle"] = CACHES["invalidation"] = raising_cache(CACHES["default"])

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
