"""`make run`: DEBUG on, embedded defaults (SQLite, local-memory cache, tasks in-process), or the
real services named in the environment or in the repository's `.env` (see `.env.example`)."""

from pathlib import Path

import environ

_DOTENV = Path(__file__).resolve().parents[3] / ".env"
if _DOTENV.is_file():
    environ.Env.read_env(_DOTENV)  # never overrides what the environment already says

from .base import *  # noqa: E402, F403
from .base import env  # noqa: E402

DEBUG = env.bool("DJANGO_DEBUG", default=True)
SECRET_KEY = env("DJANGO_SECRET_KEY", default="local-development-only-not-a-secret")
OPENAPI_VALIDATE_RESPONSES = env.bool("OPENAPI_VALIDATE_RESPONSES", default=DEBUG)
# No partner to call on a laptop: each shipping notice is written to the log instead.
EXTERNAL_API_URL = env("EXTERNAL_API_URL", default="log:")
