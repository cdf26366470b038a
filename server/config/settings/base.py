"""Settings shared by every environment. Everything that differs between machines comes from the
environment (django-environ); `local`, `test` and `production` only choose defaults."""

import logging
import re
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

SERVER_DIR = Path(__file__).resolve().parents[2]
REPO_DIR = SERVER_DIR.parent

env = environ.Env()

DEBUG = env.bool("DJANGO_DEBUG", default=False)
# No default: production refuses to start without one. `local` and `test` provide their own.
SECRET_KEY = env("DJANGO_SECRET_KEY", default=None)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework_simplejwt",
    "rest_framework_simplejwt.token_blacklist",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_guid",
    "axes",
    "shop.core",
    "shop.outbox",
    "shop.api",
    "shop.accounts",
    "shop.addresses",
    "shop.catalog",
    "shop.orders",
    "shop.invoices",
    "shop.notifications",
    "shop.shipping",
    "corsheaders",
]

MIDDLEWARE = [
    # X-Request-ID first, so that every response and every log line of the request carries it.
    "shop.api.request_id.drop_unsafe_request_id",
    "django_guid.middleware.guid_middleware",
    "shop.api.metrics.observe_requests",
    "shop.api.problems.problem_type_base",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Before everything that may read the body or answer for the API: the contract comes first.
    "shop.api.middleware.OpenAPIValidationMiddleware",
    # Sessions, Django's own login and messages serve the admin and the documentation pages;
    # the API skips them (bearer tokens: shop/api/site_middleware.py).
    "shop.api.site_middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "shop.api.site_middleware.AuthenticationMiddleware",
    "shop.api.site_middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: refuses a locked-out admin login with its 429 page.
    "shop.accounts.lockout.AdminLoginLockoutMiddleware",
]

# --- CORS: the browser front-ends allowed to call the API -------------------------------------------
# Exact origins (`https://shop.example,http://localhost:5173`); none by default, so no browser page
# on another origin may read an answer. Bearer tokens, not cookies: no credentials are allowed.
CORS_ALLOWED_ORIGINS = env.list("CORS_ALLOWED_ORIGINS", default=[])
CORS_URLS_REGEX = r"^/api/"
CORS_ALLOW_HEADERS = [
    "authorization",
    "content-type",
    "idempotency-key",
    "if-match",
    "if-none-match",
    "x-request-id",
]
CORS_EXPOSE_HEADERS = ["ETag", "X-Request-ID", "Idempotent-Replayed", "Retry-After", "Location"]
CORS_PREFLIGHT_MAX_AGE = env.int("CORS_PREFLIGHT_MAX_AGE", default=600)
if CORS_ALLOWED_ORIGINS:
    # Only with origins to allow: then every /api/ answer must carry `Vary: Origin` (about 3 % of a
    # cached read's instructions, paid by nobody who serves no browser). A preflight (OPTIONS with
    # Access-Control-Request-Method) is answered here, before the contract middleware: it is the
    # browser's question about the API, not an operation of it.
    MIDDLEWARE.insert(
        MIDDLEWARE.index("shop.api.middleware.OpenAPIValidationMiddleware"),
        "corsheaders.middleware.CorsMiddleware",
    )

ROOT_URLCONF = "config.urls"
# The API is served at the root (the contract's only server is "/"). A SCRIPT_NAME in the WSGI
# environment (a header a proxy passed on) would otherwise prefix every link Django builds,
# pagination links in pages cached for every client included.
FORCE_SCRIPT_NAME = ""
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------------
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{REPO_DIR / 'db.sqlite3'}")}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
# A connection dropped by the server is replaced before the next request instead of failing it.
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# "pgbouncer": DATABASE_URL is a PgBouncer in transaction-pooling mode (docker/pgbouncer/), which
# hands each transaction, or each statement outside one, whichever server connection is free:
# nothing may live in a session. So no server-side cursors (a named cursor outlives its
# statement) and no prepared statements (psycopg prepares a query run 5 times, on one server);
# the web's lock and statement bounds come from PgBouncer's `connect_query` instead of a SET
# (shop/core/timeouts.py). CONN_MAX_AGE stays: the kept connection is to PgBouncer, which is
# cheap, and PgBouncer keeps the few server connections.
DATABASE_POOLER = env("DATABASE_POOLER", default="")
if DATABASE_POOLER == "pgbouncer":
    DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = True
    DATABASES["default"].setdefault("OPTIONS", {})["prepare_threshold"] = None
elif DATABASE_POOLER:
    raise ImproperlyConfigured(f'DATABASE_POOLER must be "pgbouncer" or empty, not {DATABASE_POOLER!r}')
# A request that meets the database gone (refused, lost, shutting down) answers 503 with this
# Retry-After (seconds), not a 500 (shop/api/outage.py).
DATABASE_RETRY_AFTER = env.int("DATABASE_RETRY_AFTER", default=5)
# The Retry-After of a 503 for a file store (the invoices') that does not answer.
STORAGE_RETRY_AFTER = env.int("STORAGE_RETRY_AFTER", default=10)
# How long a web request's statement may run, and wait for a lock, in milliseconds (0: no bound),
# before it answers 503 with Retry-After: well inside the web's timeout (WEB_TIMEOUT, 30 s) and
# the proxy's. The lock bound is short: a request queued behind a held lock keeps a thread that
# cached reads need, while the rows an order locks are held for milliseconds (shop/core/timeouts.py).
DATABASE_STATEMENT_TIMEOUT = env.int("DATABASE_STATEMENT_TIMEOUT", default=20_000)
DATABASE_LOCK_TIMEOUT = env.int("DATABASE_LOCK_TIMEOUT", default=2_000)
# A task that met the database gone retries after 1, 2, 4 ... seconds, at most this many, for as
# long as the outage lasts; such a retry uses up none of the task's own (shop/outbox/tasks.py).
DATABASE_RETRY_MAX_DELAY = env.float("DATABASE_RETRY_MAX_DELAY", default=30.0)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache ----------------------------------------------------------------------------------------
MEMCACHED_LOCATION = env.list("MEMCACHED_LOCATION", default=[])
if MEMCACHED_LOCATION:
    CACHES = {
        "default": {
            "BACKEND": "shop.core.memcached.FailOpenPyMemcacheCache",
            "LOCATION": MEMCACHED_LOCATION,
            "KEY_PREFIX": env("CACHE_KEY_PREFIX", default="shop"),
            "OPTIONS": {
                # Fail open: a down or slow Memcached costs at most the timeouts below and reads
                # as a miss; the request is answered from the database.
                "use_pooling": True,
                "max_pool_size": env.int("MEMCACHED_POOL_SIZE", default=16),
                "ignore_exc": True,
                "connect_timeout": env.float("MEMCACHED_CONNECT_TIMEOUT", default=0.2),
                "timeout": env.float("MEMCACHED_TIMEOUT", default=0.2),
                "no_delay": True,
                # A failing server is tried again after retry_timeout, then skipped (no network
                # wait at all) for dead_timeout seconds before it is given another chance.
                "retry_attempts": 2,
                "retry_timeout": 1,
                "dead_timeout": env.int("MEMCACHED_DEAD_TIMEOUT", default=10),
            },
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}


def raising_cache(default: dict) -> dict:
    """The same store as `default`, through a client that raises when Memcached is lost instead of
    failing open: for the throttles (which then limit per process) and for cache invalidations
    (which are then recorded in the database and delivered by the worker)."""
    if not default["BACKEND"].endswith("PyMemcacheCache"):
        return dict(default)  # local memory never fails: the very same store
    # retry_attempts=0: a failed server is dead at once, so no call answers a silent default;
    # dead_timeout=1: the worker delivering recorded invalidations tries it again within a second.
    options = {**default["OPTIONS"], "ignore_exc": False, "retry_attempts": 0, "dead_timeout": 1}
    return {**default, "OPTIONS": options}


CACHES["throttle"] = CACHES["invalidation"] = CACHES["outbox"] = raising_cache(CACHES["default"])
# Invalidations a process could not deliver to Memcached are delivered again this often (seconds).
CACHE_REDELIVERY_INTERVAL = env.float("CACHE_REDELIVERY_INTERVAL", default=2.0)
PRODUCT_LIST_CACHE_TTL = env.int("PRODUCT_LIST_CACHE_TTL", default=300)
ORDER_DETAIL_CACHE_TTL = env.int("ORDER_DETAIL_CACHE_TTL", default=60)
# Stock moved by orders shows in a cached product list page within this many seconds (a product's
# own page and every edit of the catalog show at once); 0 makes the list exact (docs/caching.md).
PRODUCT_LIST_STOCK_LAG = env.float("PRODUCT_LIST_STOCK_LAG", default=1.0)
USER_CACHE_TTL = env.int("USER_CACHE_TTL", default=60)
# Access tokens a web process verified in the last this-many seconds, with their users, are taken
# on trust by that process (no signature check, no user read): a deactivation or a password change
# made elsewhere is refused here within this bound (README, "Security"). At most 2; 0 turns it off.
TOKEN_CACHE_SECONDS = min(env.float("TOKEN_CACHE_SECONDS", default=2.0), 2.0)

# --- Auth -----------------------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # first: refuses a locked-out login before any check
    "django.contrib.auth.backends.ModelBackend",
]
# The Django admin's login (django-axes): after AXES_FAILURE_LIMIT failed logins from one address,
# or for one username from anywhere, that address or username is refused with 429 for
# ADMIN_LOCKOUT_MINUTES; a success resets its count. Failed logins at the API count too (a staff
# password guessed there locks the admin as well); the API's login is never locked, it has its own
# throttle (THROTTLE_LOGIN_RATE). The client address is REMOTE_ADDR: behind a proxy that is the
# proxy's, so the username limit is the one that holds (README, "Security").
AXES_ONLY_ADMIN_SITE = True
AXES_FAILURE_LIMIT = env.int("ADMIN_LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("ADMIN_LOCKOUT_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = ["ip_address", "username"]
# The client's address as the throttles take it (NUM_PROXIES): behind the proxy, not the proxy's.
AXES_CLIENT_IP_CALLABLE = "shop.accounts.lockout.client_ip"
AXES_RESET_ON_SUCCESS = True
AXES_HTTP_RESPONSE_CODE = 429
# axes.W002 looks for its middleware by name; ours is that middleware, run for admin requests only
# (shop/accounts/lockout.py; test_admin_lockout.py holds the 429).
SILENCED_SYSTEM_CHECKS = ["axes.W002"]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(env("DJANGO_STATIC_ROOT", default=str(REPO_DIR / "build" / "static")))
MEDIA_ROOT = Path(env("DJANGO_MEDIA_ROOT", default=str(REPO_DIR / "build" / "media")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
    # Invoices (shop/invoices/services.py): under MEDIA_ROOT, a volume every process shares, unless
    # INVOICE_STORAGE_BUCKET names an S3-compatible bucket (below), which every replica reads.
    "invoices": {"BACKEND": "shop.core.storage.AtomicFileSystemStorage"},  # location: MEDIA_ROOT
}
# S3-compatible object storage for invoices (django-storages): the bucket, and for a store that is
# not AWS its endpoint (https://minio.internal:9000, https://s3.eu-central-003.backblazeb2.com).
# Credentials come from boto3's own chain: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, a web
# identity or an instance profile. The bucket stays private: the API streams each invoice to its
# owner (GET /api/orders/{id}/report/), no URL of the bucket is ever given out.
if INVOICE_STORAGE_BUCKET := env("INVOICE_STORAGE_BUCKET", default=""):
    from shop.core.storage import s3_storage

    STORAGES["invoices"] = s3_storage(
        bucket=INVOICE_STORAGE_BUCKET,
        endpoint_url=env("INVOICE_STORAGE_ENDPOINT_URL", default=""),
        region=env("INVOICE_STORAGE_REGION", default=""),
        timeout=env.float("INVOICE_STORAGE_TIMEOUT", default=5.0),
        addressing_style=env("INVOICE_STORAGE_ADDRESSING_STYLE", default="auto"),
    )

# --- API ------------------------------------------------------------------------------------------
OPENAPI_SPEC_PATH = Path(env("OPENAPI_SPEC_PATH", default=str(REPO_DIR / "openapi.yaml")))
# Response validation is for tests, CI and DEBUG: a response that breaks the contract raises.
OPENAPI_VALIDATE_RESPONSES = env.bool("OPENAPI_VALIDATE_RESPONSES", default=DEBUG)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["shop.accounts.authentication.CachedJWTAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "shop.api.negotiation.JSONOnlyContentNegotiation",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "shop.api.pagination.PageNumberPagination",
    "EXCEPTION_HANDLER": "shop.api.exceptions.problem_exception_handler",
    "DEFAULT_THROTTLE_RATES": {
        "login": env("THROTTLE_LOGIN_RATE", default="10/min"),
        "register": env("THROTTLE_REGISTER_RATE", default="10/min"),
        "refresh": env("THROTTLE_REFRESH_RATE", default="30/min"),
        "password": env("THROTTLE_PASSWORD_RATE", default="10/min"),
        "password_reset": env("THROTTLE_PASSWORD_RESET_RATE", default="5/min"),
        "password_reset_address": env("THROTTLE_PASSWORD_RESET_ADDRESS_RATE", default="3/hour"),
        "password_reset_confirm": env("THROTTLE_PASSWORD_RESET_CONFIRM_RATE", default="10/min"),
        "email_verification": env("THROTTLE_EMAIL_VERIFICATION_RATE", default="5/min"),
        "email_verification_address": env("THROTTLE_EMAIL_VERIFICATION_ADDRESS_RATE", default="3/hour"),
        "email_verify": env("THROTTLE_EMAIL_VERIFY_RATE", default="10/min"),
        "order_create": env("THROTTLE_ORDER_CREATE_RATE", default="30/min"),
        "export": env("THROTTLE_EXPORT_RATE", default="6/min"),
    },
    "NUM_PROXIES": env.int("NUM_PROXIES", default=0),
    "COERCE_DECIMAL_TO_STRING": True,
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    "UNAUTHENTICATED_USER": None,
}

SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=env.int("JWT_ACCESS_TOKEN_MINUTES", default=15)),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=env.int("JWT_REFRESH_TOKEN_DAYS", default=7)),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "UPDATE_LAST_LOGIN": True,
    # Tokens carry a fingerprint of the password hash; CachedJWTAuthentication and the refresh
    # service refuse a token issued before the password last changed.
    "CHECK_REVOKE_TOKEN": True,
    "AUTH_HEADER_TYPES": ("Bearer",),
}

# drf-spectacular only serves the Swagger UI and Redoc pages; the schema they render is the
# hand-written openapi.yaml, so code-generated schemas are neither used nor checked.
SPECTACULAR_SETTINGS = {
    "TITLE": "Shop API",  # the tab title of Swagger UI and Redoc
    "ENABLE_DJANGO_DEPLOY_CHECK": False,
    # Keep the token a user authorised with across reloads of Swagger UI.
    "SWAGGER_UI_SETTINGS": {"persistAuthorization": True, "deepLinking": True},
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# Where a problem's `type` links when it is built outside a request (a task, a refused Host);
# in a request it is the request's own host: `https://<host>/problems/<code>`.
PROBLEM_TYPE_BASE = env("PROBLEM_TYPE_BASE", default="https://shop.example/problems/")


# /readyz checks the database, the cache and the broker at most this often per web process.
READYZ_CACHE_SECONDS = env.float("READYZ_CACHE_SECONDS", default=1.0)

# --- Metrics (Prometheus; shop/api/metrics.py) ----------------------------------------------------
# /metrics answers only `Authorization: Bearer <METRICS_TOKEN>`; without a token it is a 404.
METRICS_TOKEN = env("METRICS_TOKEN", default="")
# host:port where the Celery worker serves its task metrics (no token: bind it to a private
# network or loopback); empty: not served.
WORKER_METRICS_BIND = env("WORKER_METRICS_BIND", default="")

# --- Orders ---------------------------------------------------------------------------------------
# How long an Idempotency-Key is remembered (Stripe's 24 h): a retry within it replays the order;
# after it the key is forgotten (and purged hourly by beat).
IDEMPOTENCY_KEY_TTL = env.int("IDEMPOTENCY_KEY_TTL", default=24 * 3600)
MIN_ORDER_TOTAL = Decimal(env("MIN_ORDER_TOTAL", default="1.00"))

# --- Logging: one key=value line per event, the same format for web and worker ---------------------
LOG_LEVEL = env("LOG_LEVEL", default="INFO")
# LOG_FORMAT=keyvalue (the default, for people) or json (one object per line, for a log pipeline).
LOG_FORMAT = env("LOG_FORMAT", default="keyvalue")
if LOG_FORMAT not in ("keyvalue", "json"):
    raise ImproperlyConfigured(f"LOG_FORMAT must be keyvalue or json, not {LOG_FORMAT!r}")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "keyvalue": {
            "format": "ts=%(asctime)s level=%(levelname)s logger=%(name)s request_id=%(request_id)s"
            " %(message)s"
        },
        "json": {
            "()": "shop.core.logs.KeyValueJsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(request_id)s %(message)s",
            "rename_fields": {"asctime": "ts", "levelname": "level", "name": "logger"},
        },
    },
    "filters": {
        "security_one_line": {"()": "shop.core.logs.SecurityEventsOnOneLine"},
        "request_id": {"()": "shop.core.logs.RequestId"},
        "quoted_arguments": {"()": "shop.core.logs.QuotedArguments"},
        "outage_lines": {"()": "shop.api.outage.OutageLines"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["security_one_line", "outage_lines", "request_id", "quoted_arguments"],
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        # Django's own console handler (DEBUG only) would print each django.* line a second time.
        "django": {"handlers": [], "level": LOG_LEVEL, "propagate": True},
        "django.db.backends": {"level": "INFO"},
        # Celery's "Task ... succeeded in ..." repeats our event=task_succeeded line.
        "celery.app.trace": {"level": "WARNING"},
        # django-guid says at INFO, for every request and task, whether an id came with it.
        "django_guid": {"level": "WARNING"},
    },
}

# Python's warnings (a deprecation, Celery's warning about running as root) go through the same
# handler as every other line, instead of raw text on stderr that breaks LOG_FORMAT=json.
logging.captureWarnings(True)

# --- Celery (Redis as broker and result backend; without a broker, tasks run in-process) ----------
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default="")
CELERY_RESULT_BACKEND = env("CELERY_RESULT_BACKEND", default=None)
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=not CELERY_BROKER_URL)


def request_id_settings(eager: bool) -> dict:
    """django-guid: the X-Request-ID header, returned on every response; with a worker, carried in
    each task's message headers so the worker's log lines name the request that caused them. Tasks
    run in-process (eager) already share the request's context, and django-guid's clean-up after a
    task would erase the request's id mid-request, so the Celery integration is off for them."""
    from django_guid.integrations import CeleryIntegration

    return {
        "GUID_HEADER_NAME": "X-Request-ID",
        "VALIDATE_GUID": False,  # shop.api.request_id.drop_unsafe_request_id validates it first
        "RETURN_HEADER": True,
        "EXPOSE_HEADER": False,  # django-cors-headers exposes it (CORS_EXPOSE_HEADERS) where CORS is on
        "INTEGRATIONS": [] if eager else [CeleryIntegration()],
    }


DJANGO_GUID = request_id_settings(CELERY_TASK_ALWAYS_EAGER)
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_RESULT_EXPIRES = 3600
CELERY_TASK_DEFAULT_QUEUE = env("CELERY_TASK_DEFAULT_QUEUE", default="shop")
# A task is acknowledged when it finishes, and a worker that dies mid-task hands it back.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
# Celery's Django fixup closes the database connection before and after every task unless this is
# set: each task then opened a new PostgreSQL session (11 % of the worker's time under load, py-spy).
# The connection is kept instead and, like a web request's, closed before and after each task only
# when it broke or is older than CONN_MAX_AGE (config/celery.py); Celery still recycles it after
# this many tasks.
CELERY_DB_REUSE_MAX = 500
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# No soft time limit: Celery's is a signal the pool's main process sends to the child when its
# timer says so, and a main process that was stalled (reconnecting to Redis) sends it late, to a
# child that has finished the task and is reading the next one from the pool's pipe. The pipe is
# then corrupt ("UnpicklingError: invalid load key") and the worker stops consuming for good
# (reproduced by the soak with Redis restarts). Every wait in a task is bounded where it happens
# (EXTERNAL_API_TIMEOUT, EMAIL_TIMEOUT); the hard limit below (SIGKILL: the pool replaces the
# process and the message is delivered again) is the backstop, and bounds a claim's lease.
CELERY_TASK_SOFT_TIME_LIMIT = None
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=60)
CELERY_WORKER_HIJACK_ROOT_LOGGER = False  # the worker logs through LOGGING, like the web
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Publishing happens on the request path: when Redis is down it must fail fast (the sweeper
# re-enqueues the work later), not retry for seconds.
CELERY_TASK_PUBLISH_RETRY = False
CELERY_BROKER_CONNECTION_TIMEOUT = env.float("CELERY_BROKER_CONNECTION_TIMEOUT", default=1.0)
CELERY_BROKER_TRANSPORT_OPTIONS = {
    # An unacknowledged task (its worker died) is redelivered after this many seconds.
    "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=600),
    "socket_connect_timeout": 1,
    "socket_timeout": 5,
    "max_retries": 0,
}
# Our tasks are fire-and-forget (their outcome is in the database rows they update), so no result
# is stored. This also keeps publishing off the result backend: with a result, `apply_async`
# first subscribes to it, and a Redis that just went away made that retry for ~19 s per request
# (found by contract_tests/test_faults.py).
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS = {
    "socket_connect_timeout": 1,
    "socket_timeout": 5,
    "retry_policy": {"max_retries": 1},
}
CELERY_BEAT_SCHEDULE = {
    "resume-pending-order-work": {
        "task": "shop.outbox.tasks.resume_pending_work",
        "schedule": env.float("OUTBOX_SWEEP_INTERVAL", default=60.0),
    },
    "purge-idempotency-keys": {
        "task": "shop.orders.tasks.purge_idempotency_keys",
        "schedule": 3600.0,
        "options": {"queue": f"{CELERY_TASK_DEFAULT_QUEUE}-control", "expires": 3600},
    },
    "purge-email-requests": {
        "task": "shop.accounts.tasks.purge_email_requests",
        "schedule": 3600.0,
        "options": {"queue": f"{CELERY_TASK_DEFAULT_QUEUE}-control", "expires": 3600},
    },
    "flush-expired-tokens": {
        "task": "shop.accounts.tasks.flush_expired_tokens",
        "schedule": 3600.0,
        "options": {"queue": f"{CELERY_TASK_DEFAULT_QUEUE}-control", "expires": 3600},
    },
    "deliver-cache-invalidations": {
        "task": "shop.core.tasks.deliver_invalidations",
        "schedule": CACHE_REDELIVERY_INTERVAL,
        # Its own queue (the worker reads both), so a backlog of PDFs never delays it; a run that
        # waited longer than a few of its successors would is dropped.
        "options": {
            "queue": f"{CELERY_TASK_DEFAULT_QUEUE}-control",
            "expires": 5 * CACHE_REDELIVERY_INTERVAL,
        },
    },
}
# Work still pending this long after it was last enqueued is enqueued again by the sweeper.
OUTBOX_RESUME_AFTER = env.int("OUTBOX_RESUME_AFTER", default=180)
# Batches (shop.outbox.batch): the first attempts of up to this many ready entries claimed and
# settled in one commit each (0: one task message per entry, as in-process tasks always are); a
# batch stops starting entries after OUTBOX_BATCH_SECONDS, a drain stops claiming batches after
# OUTBOX_DRAIN_SECONDS: by default each a sixth of CELERY_TASK_TIME_LIMIT (at most 10 s), so a
# drain with a slow last entry still ends inside the limit. A drain starts OUTBOX_DRAIN_DELAY
# seconds after the commit that woke it, and one whose batch came back short ends and wakes the
# next that much later: the work owed meanwhile joins one batch, so a worker that keeps up still
# claims batches of tens of entries (a batch's claim, reads and settle cost what about two
# orders' work does); 0 claims at once and drains until nothing is ready.
OUTBOX_BATCH_SIZE = env.int("OUTBOX_BATCH_SIZE", default=50)
OUTBOX_BATCH_SECONDS = env.float("OUTBOX_BATCH_SECONDS", default=min(10.0, CELERY_TASK_TIME_LIMIT / 6))
OUTBOX_DRAIN_SECONDS = env.float("OUTBOX_DRAIN_SECONDS", default=min(10.0, CELERY_TASK_TIME_LIMIT / 6))
OUTBOX_DRAIN_DELAY = env.float("OUTBOX_DRAIN_DELAY", default=0.25)
if OUTBOX_BATCH_SIZE < 0 or OUTBOX_BATCH_SECONDS + OUTBOX_DRAIN_SECONDS >= CELERY_TASK_TIME_LIMIT / 2:
    raise ImproperlyConfigured(
        "OUTBOX_BATCH_SIZE must be 0 or more, and OUTBOX_BATCH_SECONDS + OUTBOX_DRAIN_SECONDS under "
        "half of CELERY_TASK_TIME_LIMIT (the last entry of a drain needs the rest)."
    )
if not 0 <= OUTBOX_DRAIN_DELAY <= 5:
    raise ImproperlyConfigured("OUTBOX_DRAIN_DELAY must be between 0 and 5 seconds.")

# --- Invoices, e-mail, shipping partner ------------------------------------------------------------
SHOP_NAME = env("SHOP_NAME", default="Example Shop")
# The seller block of every invoice: address lines separated by "\n".
SHOP_ADDRESS = env.str("SHOP_ADDRESS", default="1 Example Street\n10115 Berlin\nGermany", multiline=True)
# ISO 4217 code of every amount; each order keeps the currency it was placed in.
SHOP_CURRENCY = env("SHOP_CURRENCY", default="EUR")
if not re.fullmatch(r"[A-Z]{3}", SHOP_CURRENCY):
    raise ImproperlyConfigured(f"SHOP_CURRENCY must be an ISO 4217 code such as EUR, not {SHOP_CURRENCY!r}.")
INVOICE_DIR = env("INVOICE_DIR", default="invoices")  # the invoices' folder (key prefix) in their storage
# EMAIL_URL: consolemail:// (default), filemail:///path, smtp+tls://user:pass@host:587, ...
vars().update(env.email_url("EMAIL_URL", default="consolemail://"))
if EMAIL_BACKEND == "django.core.mail.backends.console.EmailBackend":  # noqa: F821 - set above
    EMAIL_BACKEND = "shop.notifications.backends.SummaryConsoleEmailBackend"  # attachments summarised
if EMAIL_BACKEND.endswith("filebased.EmailBackend"):
    EMAIL_FILE_PATH = "/" + EMAIL_FILE_PATH.lstrip("/")  # noqa: F821 - filemail:///abs/path is absolute
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="orders@shop.example")
# Password reset: a link's token is good this many seconds (and once); the link is the front-end's
# page that asks for the new password and calls confirmPasswordReset with `uid` and `token`.
PASSWORD_RESET_TIMEOUT = env.int("PASSWORD_RESET_TIMEOUT", default=3600)
PASSWORD_RESET_LINK = env(
    "PASSWORD_RESET_LINK", default="https://shop.example/reset-password?uid={uid}&token={token}"
)
if "{uid}" not in PASSWORD_RESET_LINK or "{token}" not in PASSWORD_RESET_LINK:
    raise ImproperlyConfigured("PASSWORD_RESET_LINK must contain {uid} and {token}.")
# E-mail verification: `optional` (default) sends a link at registration, `mandatory` also
# refuses login until the address is confirmed, `none` sends nothing. A link's token is good this
# many seconds; the link is the front-end's page that calls verifyEmail with `token`.
ACCOUNT_EMAIL_VERIFICATION = env("ACCOUNT_EMAIL_VERIFICATION", default="optional")
if ACCOUNT_EMAIL_VERIFICATION not in ("none", "optional", "mandatory"):
    raise ImproperlyConfigured("ACCOUNT_EMAIL_VERIFICATION must be none, optional or mandatory.")
EMAIL_VERIFICATION_TIMEOUT = env.int("EMAIL_VERIFICATION_TIMEOUT", default=3 * 24 * 3600)
EMAIL_VERIFICATION_LINK = env(
    "EMAIL_VERIFICATION_LINK", default="https://shop.example/verify-email?token={token}"
)
if "{token}" not in EMAIL_VERIFICATION_LINK:
    raise ImproperlyConfigured("EMAIL_VERIFICATION_LINK must contain {token}.")
EMAIL_TIMEOUT = env.float("EMAIL_TIMEOUT", default=10.0)  # seconds per SMTP socket operation
# The shipping partner's endpoint; `log:` only logs each notice (local runs). No default here:
# production refuses to start without it, `local` logs, `test` points at a closed port.
EXTERNAL_API_URL = env("EXTERNAL_API_URL", default="")
EXTERNAL_API_TIMEOUT = env.float("EXTERNAL_API_TIMEOUT", default=5.0)
EXTERNAL_API_MAX_RETRIES = env.int("EXTERNAL_API_MAX_RETRIES", default=3)
EXTERNAL_API_RETRY_BACKOFF = env.float("EXTERNAL_API_RETRY_BACKOFF", default=2.0)
# Every outbox kind retries with base * 2^n seconds (plus jitter), at most so many times
# (shop/outbox/kinds.py: <prefix>_RETRY_BACKOFF, <prefix>_MAX_RETRIES).
INVOICE_RETRY_BACKOFF = env.float("INVOICE_RETRY_BACKOFF", default=1.0)
INVOICE_MAX_RETRIES = env.int("INVOICE_MAX_RETRIES", default=3)
EMAIL_RETRY_BACKOFF = env.float("EMAIL_RETRY_BACKOFF", default=5.0)
EMAIL_MAX_RETRIES = env.int("EMAIL_MAX_RETRIES", default=5)
