"""gunicorn and the Celery worker in production: DEBUG off, and no embedded default for anything
that would fail silently. The process refuses to start, with one line naming each variable, when
the secret key is missing or weak, when the metrics token is weak, when no broker is configured
(tasks would run inside requests), or when the shipping partner's URL is not set (notices would go
nowhere, or somewhere unintended)."""

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import CELERY_BROKER_URL, EXTERNAL_API_URL, METRICS_TOKEN, SECRET_KEY, env

DEBUG = False


def _configuration_errors() -> list[str]:
    errors = []
    if not SECRET_KEY:
        errors.append("DJANGO_SECRET_KEY must be set when DEBUG is off")
    elif len(SECRET_KEY) < 50 or len(set(SECRET_KEY)) < 5 or SECRET_KEY.startswith("django-insecure"):
        # Django's own bar (check --deploy, security.W009); the key also signs every JWT.
        errors.append(
            "DJANGO_SECRET_KEY is weak: use 50 or more random characters, not a 'django-insecure' key"
        )
    if METRICS_TOKEN and (len(METRICS_TOKEN) < 32 or len(set(METRICS_TOKEN)) < 10):
        # Anyone who guesses it reads every metric: as hard to guess as a session's token.
        errors.append(
            "METRICS_TOKEN is weak: use 32 or more random characters (or leave it empty: no /metrics)"
        )
    if not CELERY_BROKER_URL:
        errors.append("CELERY_BROKER_URL must be set (without a broker, tasks would run inside requests)")
    if not EXTERNAL_API_URL:
        errors.append("EXTERNAL_API_URL must be set: the shipping partner's URL, or log: to only log notices")
    return errors


_errors = _configuration_errors()
if _errors:
    raise ImproperlyConfigured("Refusing to start: " + "; ".join(_errors) + ".")

# Work goes to the broker, always: an environment that asked for eager tasks is not production.
CELERY_TASK_ALWAYS_EAGER = False

# Behind a TLS-terminating proxy that sets X-Forwarded-Proto: gunicorn trusts the header only
# from FORWARDED_ALLOW_IPS and sets the request's scheme from it (config/gunicorn.py). Django's
# SECURE_PROXY_SSL_HEADER is not set: it would trust the header from every client.
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 30)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env.bool("DJANGO_SECURE_HSTS_PRELOAD", default=True)
SECURE_CONTENT_TYPE_NOSNIFF = True
