"""How long a web request may wait for PostgreSQL. A request queued behind a lock (a migration's
`ACCESS EXCLUSIVE`, a long transaction) or stuck in a slow statement holds one of the web's few
threads; past these bounds PostgreSQL ends the wait and the request answers 503 with
`Retry-After` (shop/api/outage.py), well before the web's own timeout (WEB_TIMEOUT, 30 s) kills
the process with every request it serves.

Web only (config/wsgi.py connects it): the worker's tasks, migrations and management commands
wait as long as they need. Set on each new connection, for its session (CONN_MAX_AGE keeps it
for many requests). Not behind a transaction-pooling PgBouncer (DATABASE_POOLER), where a
session setting would leak to whichever client the server connection serves next: there the
web connects to a database entry of its own whose `connect_query` sets them
(docker/pgbouncer/pgbouncer.ini)."""

from django.conf import settings
from django.db.backends.signals import connection_created


def bound_waits(sender, connection, **kwargs) -> None:
    """`connection_created`: the session's `statement_timeout` and `lock_timeout`."""
    if connection.vendor != "postgresql" or settings.DATABASE_POOLER:
        return  # behind PgBouncer, its `connect_query` sets them on the web's server connections
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT set_config('statement_timeout', %s, false), set_config('lock_timeout', %s, false)",
            [f"{settings.DATABASE_STATEMENT_TIMEOUT}ms", f"{settings.DATABASE_LOCK_TIMEOUT}ms"],
        )


def bound_web_requests() -> None:
    connection_created.connect(bound_waits, dispatch_uid="shop.core.timeouts")
