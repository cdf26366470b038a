"""Production settings refuse to start, with one line naming the variable, on anything that would
otherwise fail silently; configured properly, `check --deploy` is clean."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

SERVER = Path(__file__).resolve().parents[1]
REQUIRED = {
    "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
    "CELERY_BROKER_URL": "redis://127.0.0.1:6379/0",
    "EXTERNAL_API_URL": "https://partner.example/shipments",
}


def run_manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    environment = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("DJANGO_") and k not in ("CELERY_BROKER_URL", "EXTERNAL_API_URL")
    }
    environment.update(env, DJANGO_SETTINGS_MODULE="config.settings.production")
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=SERVER,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )


def refusal(result: subprocess.CompletedProcess) -> str:
    assert result.returncode != 0
    [line] = [
        line for line in result.stderr.splitlines() if "ImproperlyConfigured: Refusing to start" in line
    ]
    return line


@pytest.mark.parametrize(
    ("variable", "value", "says"),
    [
        ("DJANGO_SECRET_KEY", "", "DJANGO_SECRET_KEY must be set"),
        ("DJANGO_SECRET_KEY", "short-but-random-Kq8", "DJANGO_SECRET_KEY is weak"),
        ("DJANGO_SECRET_KEY", "django-insecure-" + secrets.token_urlsafe(50), "DJANGO_SECRET_KEY is weak"),
        ("DJANGO_SECRET_KEY", "ab" * 40, "DJANGO_SECRET_KEY is weak"),
        ("METRICS_TOKEN", "metrics", "METRICS_TOKEN is weak"),
        ("METRICS_TOKEN", "ab" * 20, "METRICS_TOKEN is weak"),
        ("CELERY_BROKER_URL", "", "CELERY_BROKER_URL must be set"),
        ("EXTERNAL_API_URL", "", "EXTERNAL_API_URL must be set"),
    ],
)
def test_production_refuses_to_start_naming_the_variable(variable, value, says):
    line = refusal(run_manage("check", **{**REQUIRED, variable: value}))
    assert says in line
    others = [name for name in REQUIRED if name != variable]
    assert not any(name in line for name in others), line


@pytest.mark.parametrize("delay", ["-1", "9"])
def test_a_drain_delay_out_of_bounds_refuses_to_start(delay):
    result = run_manage("check", **REQUIRED, OUTBOX_DRAIN_DELAY=delay)
    assert result.returncode != 0
    assert "OUTBOX_DRAIN_DELAY must be between 0 and 5 seconds" in result.stderr


def test_production_names_every_missing_variable_at_once():
    line = refusal(run_manage("check"))
    for name in REQUIRED:
        assert name in line


def test_production_passes_the_deployment_checklist():
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", **REQUIRED)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_never_runs_tasks_in_process():
    result = run_manage(
        "shell",
        "-c",
        "from django.conf import settings; print(settings.CELERY_TASK_ALWAYS_EAGER)",
        CELERY_TASK_ALWAYS_EAGER="true",
        **REQUIRED,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "False"


def test_local_settings_log_partner_notices_summarise_e_mails_and_need_no_broker():
    environment = {
        k: v for k, v in os.environ.items() if k not in ("EXTERNAL_API_URL", "EMAIL_URL", "CELERY_BROKER_URL")
    }
    environment["DJANGO_SETTINGS_MODULE"] = "config.settings.local"
    result = subprocess.run(
        [
            sys.executable,
            "manage.py",
            "shell",
            "-c",
            "from django.conf import settings; from config.celery import app;"
            " print(settings.EXTERNAL_API_URL, settings.EMAIL_BACKEND, app.conf.broker_url)",
        ],
        cwd=SERVER,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.stdout.strip().splitlines()[-1] == (
        # no broker configured: in-process tasks, and Celery is given nothing to connect to
        "log: shop.notifications.backends.SummaryConsoleEmailBackend memory://"
    ), result.stderr


@pytest.mark.parametrize(("origins", "installed"), [("", False), ("https://shop.example", True)])
def test_the_cors_middleware_runs_only_where_origins_are_allowed(origins, installed):
    """No origin configured (the default): no CORS middleware, and no `Vary: Origin` on every answer."""
    environment = {**REQUIRED, "CORS_ALLOWED_ORIGINS": origins}
    check = (
        "from django.conf import settings; "
        "print('corsheaders.middleware.CorsMiddleware' in settings.MIDDLEWARE)"
    )
    result = run_manage("shell", "-c", check, **environment)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == str(installed)


@pytest.mark.parametrize(
    ("variables", "expected"),
    [
        ({}, "AtomicFileSystemStorage"),
        (
            {
                "INVOICE_STORAGE_BUCKET": "acme-invoices",
                "INVOICE_STORAGE_ENDPOINT_URL": "https://minio.internal:9000",
                "INVOICE_STORAGE_REGION": "eu-central-1",
                "INVOICE_STORAGE_TIMEOUT": "3",
                "INVOICE_STORAGE_ADDRESSING_STYLE": "path",
            },
            "S3Storage acme-invoices https://minio.internal:9000 eu-central-1 3.0 3.0 2 path True None",
        ),
    ],
)
def test_invoices_go_to_the_bucket_that_is_named(variables, expected):
    """Without INVOICE_STORAGE_BUCKET, the files under MEDIA_ROOT; with it, that bucket, bounded waits."""
    show = (
        "from django.core.files.storage import storages; s = storages['invoices'];"
        " c = getattr(s, 'client_config', 0); print(type(s).__name__, *([s.bucket_name, s.endpoint_url,"
        " s.region_name, c.connect_timeout, c.read_timeout, c.retries['max_attempts'],"
        " c.s3['addressing_style'], s.file_overwrite, s.default_acl] if c else []))"
    )
    result = run_manage("shell", "-c", show, **REQUIRED, **variables)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == expected
