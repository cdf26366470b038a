#!/usr/bin/env bash
# Every container starts here: wait for the database, then run the given command (server/bin/web,
# server/bin/worker, server/bin/beat or server/bin/prepare: the scripts CI and the contract tests run).
set -o errexit -o nounset -o pipefail

python - <<'PY'
import os, sys, time

import environ
import psycopg

url = os.environ.get("DATABASE_URL", "")
if not url.startswith(("postgres://", "postgresql://")):
    sys.exit(0)
config = environ.Env.db_url_config(url)
deadline = time.monotonic() + float(os.environ.get("WAIT_FOR_DB_SECONDS", "60"))
while True:
    try:
        psycopg.connect(
            host=config["HOST"], port=config["PORT"] or 5432, user=config["USER"],
            password=config["PASSWORD"], dbname=config["NAME"], connect_timeout=2,
        ).close()
        break
    except psycopg.OperationalError as exc:
        if time.monotonic() > deadline:
            sys.exit(f"entrypoint: the database is still unreachable: {exc}")
        print("entrypoint: waiting for the database ...", file=sys.stderr)
        time.sleep(1)
PY

exec "$@"
