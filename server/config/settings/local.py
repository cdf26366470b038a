"""`make run`: DEBUG on, embedded defaults (SQLite, local-memory cache, tasks in-process)."""

from .base import *  # noqa: F403
from .base import env

DEBUG = env.bool("DJANGO_DEBUG", default=True)
SECRET_KEY = env("DJANGO_SECRET_KEY", default="local-development-only-not-a-secret")
OPENAPI_VALIDATE_RESPONSES = env.bool("OPENAPI_VALIDATE_RESPONSES", default=DEBUG)
# No partner to call on a laptop: each shipping notice is written to the log instead.
EXTERNAL_API_URL = env("EXTERNAL_API_URL", default="log:")
