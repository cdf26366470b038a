"""The tests of everything that depends on how PostgreSQL sessions and transactions behave, run
again through Debian's PgBouncer in transaction-pooling mode with the settings production uses
behind it (DATABASE_POOLER=pgbouncer): order placement racing for the last units, deadlock-free
locking order, one order per Idempotency-Key, If-Match, stock edits that never overwrite a
concurrent sale, and the outbox's claims. They must pass exactly as on a direct connection."""

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import psycopg
import pytest
import yaml

from contract_tests import services
from contract_tests.conftest import require_services

REPO = Path(__file__).resolve().parents[1]
THROUGH_THE_POOLER = [
    "server/tests/orders/test_concurrency.py",
    "server/tests/orders/test_place_order.py",
    "server/tests/orders/test_order_preconditions.py",
    "server/tests/catalog/test_lost_updates.py",
    "server/tests/outbox/test_claims.py",
    "server/tests/outbox/test_failures.py",
    "server/tests/outbox/test_order_work.py",
]


@pytest.fixture
def bouncer():
    require_services()
    pooler = services.PgBouncer("127.0.0.1:5432", pool_size=10)
    pooler.start()
    yield pooler
    pooler.remove()


def test_locking_idempotency_and_claims_hold_through_pgbouncer(bouncer):
    name = f"pgbouncer_{uuid.uuid4().hex[:8]}"
    direct = "postgres://postgres@127.0.0.1:5432/postgres"
    with psycopg.connect(direct, autocommit=True) as conn:  # made directly, migrated through it
        conn.execute(f'CREATE DATABASE "test_{name}"')
    env = {**os.environ, "DATABASE_URL": f"{bouncer.url}/{name}", "DATABASE_POOLER": "pgbouncer"}
    try:
        run = subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest",
                "-q",
                "-p",
                "no:cacheprovider",
                "--reuse-db",
                *THROUGH_THE_POOLER,
            ],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
    finally:
        with psycopg.connect(direct, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "test_{name}" WITH (FORCE)')
    summary = run.stdout.strip().splitlines()[-1]
    assert f"db=test_{name}" in (bouncer.dir / "pgbouncer.log").read_text()  # it did go through
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert "passed" in summary and "skipped" not in summary and "failed" not in summary, summary
    print(f"through PgBouncer (transaction pooling, 10 server connections): {summary}")


def test_compose_runs_every_process_but_the_migrations_through_pgbouncer():
    compose = yaml.safe_load((services.PGBOUNCER_INI.parents[1] / "compose.yaml").read_text())["services"]
    for name in ("web", "worker", "beat"):
        env = compose[name]["environment"]
        assert env["DATABASE_POOLER"] == "pgbouncer" and "@pgbouncer:6432/" in env["DATABASE_URL"], name
    assert compose["web"]["environment"]["DATABASE_URL"].endswith("/shop_web")  # the bounded entry
    assert "@postgres:5432/" in compose["migrate"]["environment"]["DATABASE_URL"]
    assert compose["migrate"]["environment"]["DATABASE_POOLER"] == ""


def test_the_webs_database_entry_bounds_waits_as_the_settings_do(settings):
    """Behind PgBouncer the web's bounds are its `connect_query`, not shop.core.timeouts' SET."""
    query = services.REPO_PGBOUNCER["databases"]["shop_web"]
    assert f"SET lock_timeout = {settings.DATABASE_LOCK_TIMEOUT};" in query
    assert f"SET statement_timeout = {settings.DATABASE_STATEMENT_TIMEOUT}'" in query
    assert "connect_query" not in services.REPO_PGBOUNCER["databases"]["shop"]  # the worker waits
    assert services.REPO_PGBOUNCER["pgbouncer"]["pool_mode"] == "transaction"


def test_a_server_connection_killed_before_commit_leaves_a_closed_connection(bouncer):
    """The premise of shop.core.errors.database_gone: through PgBouncer, a COMMIT whose server
    connection was terminated raises psycopg's InternalError (not an OperationalError), and the
    connection is closed by then."""
    with psycopg.connect("postgres://postgres@127.0.0.1:5432/postgres", autocommit=True) as admin:
        client = psycopg.connect(f"{bouncer.url}/postgres", prepare_threshold=None)
        pid = client.execute("SELECT pg_backend_pid()").fetchone()[0]  # a transaction begins
        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        time.sleep(0.5)
        with pytest.raises(psycopg.DatabaseError) as raised:
            client.commit()
    assert client.closed
    print(
        f"COMMIT on a killed server connection, through PgBouncer: {type(raised.value).__name__}:",
        raised.value,
    )
