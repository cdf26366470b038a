"""The real stack on loopback, for the contract tests and the benchmarks: gunicorn and a Celery
worker started with the same scripts as the Docker image (`server/bin/prepare`, `web`, `worker`),
production settings, a fresh PostgreSQL database, real Redis and Memcached, and a local stub for
the shipping partner. Always stopped, whatever happens."""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import requests

from tests.helpers import PartnerStub

REPO = Path(__file__).resolve().parents[1]
SERVER = REPO / "server"
FRONT_END = "http://127.0.0.1:4173"  # the browser front-end the stack allows (CORS)
ADMIN = ("admin", "admin-contract-pass-1")
CUSTOMERS = (("alice", "alice-contract-pass-1"), ("bob", "bob-contract-pass-1"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


@dataclass
class Stack:
    base_url: str
    env: dict[str, str]
    workdir: Path
    tokens: dict[str, str] = field(default_factory=dict)
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)
    partner: PartnerStub | None = None
    # Per-process environment on top of `env`, e.g. {"web2": {"WEB_BIND": ...}}
    process_env: dict[str, dict[str, str]] = field(default_factory=dict)

    def url(self, path: str) -> str:
        return self.base_url + path

    def auth(self, user: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[user]}"}

    def log(self, name: str) -> str:
        return (self.workdir / f"{name}.log").read_text(errors="replace")

    def query(self, sql: str, *args) -> list[tuple]:
        """Rows of one SQL statement against the stack's own database."""
        with psycopg.connect(self.env["DATABASE_URL"]) as conn:
            return conn.execute(sql, args).fetchall()

    def work(self, kind: str, object_id: int) -> tuple[str, int, int] | None:
        """(status, attempts, requeues) of the outbox entry of `kind` about `object_id`, or None."""
        rows = self.query(
            "SELECT status, attempts, requeues FROM outbox_entry WHERE kind = %s AND object_id = %s"
            " ORDER BY id DESC LIMIT 1",
            kind,
            object_id,
        )
        return rows[0] if rows else None

    def create_product(self, *, stock: int, price: str = "10.00") -> int:
        """A new product (through the API, as staff); returns its id."""
        response = requests.post(
            self.url("/api/products/"),
            json={"name": f"Item {time.monotonic_ns()}", "price": price, "stock": stock, "category": "home"},
            headers=self.auth("admin"),
            timeout=10,
        )
        response.raise_for_status()
        return response.json()["id"]

    def web_url(self, name: str) -> str:
        return "http://" + {**self.env, **self.process_env.get(name, {})}["WEB_BIND"]

    def start(self, name: str) -> subprocess.Popen:
        """Starts server/bin/<name> (web, worker, beat; a trailing digit names another process
        of the same script, e.g. web2) in a process group of its own."""
        out = (self.workdir / f"{name}.log").open("ab")
        self.processes[name] = subprocess.Popen(
            [str(SERVER / "bin" / name.rstrip("0123456789"))],
            cwd=SERVER,
            env={**self.env, **self.process_env.get(name, {})},
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        return self.processes[name]

    def manage(self, *args: str) -> str:
        return subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=SERVER,
            env=self.env,
            check=True,
            capture_output=True,
            text=True,
        ).stdout


def _run(args: list[str], env: dict[str, str]) -> None:
    subprocess.run(args, cwd=SERVER, env=env, check=True, capture_output=True, timeout=300)


def wait_ready(stack: Stack, name: str = "web", timeout: float = 60) -> None:
    """Waits until the web process `name` answers /readyz."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if stack.processes[name].poll() is not None:
            raise RuntimeError(f"gunicorn exited:\n{stack.log(name)[-3000:]}")
        try:
            if requests.get(stack.web_url(name) + "/readyz", timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"{name} was not ready after {timeout}s:\n{stack.log(name)[-3000:]}")


def _login(stack: Stack, username: str, password: str) -> str:
    response = requests.post(
        stack.url("/api/auth/login/"), json={"username": username, "password": password}, timeout=10
    )
    response.raise_for_status()
    return response.json()["access"]


@contextmanager
def live_stack(
    *,
    validate_responses: bool = True,
    web_workers: int = 2,
    extra_env: dict[str, str] | None = None,
    processes: tuple[str, ...] = ("web", "worker"),
    process_env: dict[str, dict[str, str]] | None = None,
    database_admin_url: str | None = None,
    pooler_url: str | None = None,
):
    """Starts the stack; yields a Stack with tokens for admin, alice and bob; stops it. Its
    database is made on the server of `database_admin_url` (default: DATABASE_ADMIN_URL, or the
    local PostgreSQL). With `pooler_url` (a PgBouncer in front of that server), the processes
    connect through it as compose's do, the migrations directly."""
    run_id = uuid.uuid4().hex[:8]
    database = f"shop_live_{run_id}"
    pg_url = database_admin_url or os.environ.get(
        "DATABASE_ADMIN_URL", "postgres://postgres@127.0.0.1:5432/postgres"
    )
    workdir = Path(tempfile.mkdtemp(prefix=f"shop-stack-{run_id}-"))
    port = free_port()
    partner = PartnerStub()
    env = {
        **os.environ,
        "PYTHON": sys.executable,
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_SECURE_SSL_REDIRECT": "false",  # no TLS proxy on loopback
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DJANGO_STATIC_ROOT": str(workdir / "static"),
        "DJANGO_MEDIA_ROOT": str(workdir / "media"),
        "OPENAPI_VALIDATE_RESPONSES": "true" if validate_responses else "false",
        "DATABASE_URL": pg_url.rsplit("/", 1)[0] + "/" + database,
        "MEMCACHED_LOCATION": os.environ.get("MEMCACHED_LOCATION", "127.0.0.1:11211"),
        "CACHE_KEY_PREFIX": f"live-{run_id}",
        "CELERY_BROKER_URL": os.environ.get("CELERY_BROKER_URL", "redis://127.0.0.1:6379/0"),
        "CELERY_RESULT_BACKEND": os.environ.get("CELERY_RESULT_BACKEND", "redis://127.0.0.1:6379/1"),
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "CELERY_TASK_DEFAULT_QUEUE": f"shop-live-{run_id}",
        "EXTERNAL_API_URL": partner.url,
        "EXTERNAL_API_RETRY_BACKOFF": "0.2",
        "EMAIL_URL": f"filemail://{workdir / 'mail'}",
        "WEB_BIND": f"127.0.0.1:{port}",
        "WEB_WORKERS": str(web_workers),
        "LOG_LEVEL": "INFO",
        "CELERY_BEAT_SCHEDULE_FILE": str(workdir / "celerybeat-schedule"),
        "JWT_ACCESS_TOKEN_MINUTES": "240",  # outlives the longest fuzzing run
        "CORS_ALLOWED_ORIGINS": FRONT_END,
        # The rate limits have tests of their own; here they would only turn fuzzing into 429s.
        "THROTTLE_LOGIN_RATE": "100000/min",
        "THROTTLE_REGISTER_RATE": "100000/min",
        "THROTTLE_REFRESH_RATE": "100000/min",
        "THROTTLE_PASSWORD_RATE": "100000/min",
        "THROTTLE_ORDER_CREATE_RATE": "100000/min",
        "THROTTLE_PASSWORD_RESET_RATE": "100000/min",
        "THROTTLE_PASSWORD_RESET_ADDRESS_RATE": "100000/min",
        "THROTTLE_PASSWORD_RESET_CONFIRM_RATE": "100000/min",
        "DJANGO_SUPERUSER_USERNAME": ADMIN[0],
        "DJANGO_SUPERUSER_PASSWORD": ADMIN[1],
        "DJANGO_SUPERUSER_EMAIL": "admin@example.com",
        **(extra_env or {}),
    }
    migrate_env = dict(env)
    if pooler_url:
        env.update(DATABASE_URL=f"{pooler_url}/{database}", DATABASE_POOLER="pgbouncer")
    stack = Stack(
        base_url=f"http://127.0.0.1:{port}",
        env=env,
        workdir=workdir,
        partner=partner,
        process_env=process_env or {},
    )
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{database}"')
    try:
        _run([str(SERVER / "bin" / "prepare")], migrate_env)
        _run([sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"], env)
        for name in processes:
            stack.start(name)
        for name in processes:
            if name.startswith("web"):
                wait_ready(stack, name)
        for username, password in CUSTOMERS:
            requests.post(
                stack.url("/api/auth/register/"),
                json={"username": username, "email": f"{username}@example.com", "password": password},
                timeout=10,
            ).raise_for_status()
        for username, password in (ADMIN, *CUSTOMERS):
            stack.tokens[username] = _login(stack, username, password)
        yield stack
    finally:
        for process in stack.processes.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in stack.processes.values():
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
        partner.close()
        with psycopg.connect(pg_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        if not os.environ.get("KEEP_STACK_LOGS"):
            shutil.rmtree(workdir, ignore_errors=True)
