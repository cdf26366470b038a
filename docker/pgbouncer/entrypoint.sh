#!/bin/sh
# The password file from the environment (never baked into the image), then PgBouncer itself.
set -eu
printf '"%s" "%s"\n' "${POSTGRES_USER:-shop}" "${POSTGRES_PASSWORD:?POSTGRES_PASSWORD is required}" > /etc/pgbouncer/userlist.txt
exec pgbouncer /etc/pgbouncer/pgbouncer.ini
