"""`make bench-instructions`: what one cached read and one order's POST cost, counted in CPU
instructions, which (unlike requests per second, or even CPU seconds, on a shared VM) come out the
same run after run.

    python contract_tests/bench/instructions.py [--requests 100]

Seeds a scratch PostgreSQL database (production settings, the real Memcached), then for each path
runs the WSGI application in-process under `valgrind --tool=callgrind`: 50 warm-up requests, the
garbage collector off, then `--requests` requests, counted only inside that loop. Prints the
instructions per request and each path's ratio to its ceiling: a read's to `/bench/ceiling`
(Django and one Memcached read), the order's POST to the write ceiling's (`place_order` from a
plain Django view, `bench/app/views.py`: each places a one-line order as `make bench`'s rows
do), and writes them to build/bench/instructions.json. What gunicorn adds per request
(the same for every path) is not counted: through gunicorn the ratios are closer to 1.

Two runs of the same code differ by well under 0.1 % for the reads and about 0.3 % for the writes
(their tables grow): compare a change's counts before and after.
"""

from __future__ import annotations

import argparse
import functools
import gc
import io
import itertools
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from contract_tests.bench import ENV as BENCH_ENV  # noqa: E402

SERVER = ROOT / "server"
OUT = ROOT / "build" / "bench"
PATHS = ("ceiling", "product list hit", "order detail hit", "write ceiling", "order POST")
# What each path's count is read against: the reads against the ceiling, the POST against the
# write ceiling.
REFERENCE = {"product list hit": "ceiling", "order detail hit": "ceiling", "order POST": "write ceiling"}


def _environ(path: str, token: str, body: bytes = b"") -> dict:
    route, _, query = path.partition("?")
    return {
        "REQUEST_METHOD": "POST" if body else "GET",
        "PATH_INFO": route,
        "QUERY_STRING": query,
        **({"CONTENT_TYPE": "application/json", "CONTENT_LENGTH": str(len(body))} if body else {}),
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": "127.0.0.1:8000",
        "HTTP_AUTHORIZATION": f"Bearer {token}",
        "HTTP_ACCEPT": "application/json",
        "REMOTE_ADDR": "127.0.0.1",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.url_scheme": "http",
        "wsgi.version": (1, 0),
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }


def measured_loop(name: str, requests: int) -> None:
    """Runs under valgrind: the requests, inside `functools.reduce` (the function callgrind's
    collection is toggled on), after the warm-up."""
    sys.path.insert(0, str(SERVER))
    import django

    django.setup()
    from django.core.wsgi import get_wsgi_application
    from rest_framework_simplejwt.tokens import AccessToken

    from shop.accounts.models import User
    from shop.catalog.models import Product
    from shop.orders.models import Order

    app = get_wsgi_application()
    alice = User.objects.get(username="alice")
    token = str(AccessToken.for_user(alice))
    order_id = Order.objects.filter(user=alice).values_list("pk", flat=True).first()
    path = {
        "ceiling": "/bench/ceiling",
        "product list hit": "/api/products/",
        "order detail hit": f"/api/orders/{order_id}/",
        "write ceiling": "/bench/write-ceiling",
        "order POST": "/api/orders/",
    }[name]
    writes = name in ("write ceiling", "order POST")
    # The writes: one unit of one of 50 products in turn, as `make bench`'s 50-product rows.
    products = Product.objects.filter(is_active=True, stock__gt=0).values_list("pk", flat=True)[:50]
    bodies = itertools.cycle(
        [json.dumps({"items": [{"product": pk, "quantity": 1}]}).encode() for pk in products]
        if writes
        else [b""]
    )
    statuses = []

    def call(*_) -> None:
        response = app(
            _environ(path, token, next(bodies)),
            lambda status, headers, exc_info=None: statuses.append(status),
        )
        b"".join(response)

    for _ in range(50):
        call()
    assert set(statuses) == {"201 Created" if writes else "200 OK"}, statuses
    gc.collect()
    gc.disable()
    functools.reduce(call, range(requests), None)


def count(name: str, requests: int, env: dict[str, str]) -> int:
    run = subprocess.run(
        [
            "valgrind",
            "--tool=callgrind",
            "--collect-atstart=no",
            "--toggle-collect=functools_reduce",
            "--callgrind-out-file=/dev/null",
            sys.executable,
            __file__,
            "--measure",
            name,
            "--requests",
            str(requests),
        ],
        env=env,
        cwd=SERVER,
        capture_output=True,
        text=True,
        check=True,
    )
    collected = re.search(r"Collected : (\d+)", run.stderr)
    assert collected, run.stderr[-2000:]
    return int(collected[1]) // requests


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--measure", choices=PATHS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        measured_loop(args.measure, args.requests)
        return 0
    if shutil.which("valgrind") is None:
        sys.exit("valgrind is not installed: apt-get install valgrind")

    import psycopg

    admin_url = os.environ.get("DATABASE_ADMIN_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    database = f"shop_instr_{uuid.uuid4().hex[:8]}"
    workdir = Path(tempfile.mkdtemp(prefix="shop-instructions-"))
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_SECURE_SSL_REDIRECT": "false",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DJANGO_STATIC_ROOT": str(workdir / "static"),
        "DJANGO_MEDIA_ROOT": str(workdir / "media"),
        "OPENAPI_VALIDATE_RESPONSES": "false",  # as in production
        "DATABASE_URL": admin_url.rsplit("/", 1)[0] + "/" + database,
        "MEMCACHED_LOCATION": os.environ.get("MEMCACHED_LOCATION", "127.0.0.1:11211"),
        "CACHE_KEY_PREFIX": f"instr-{database}",
        "CELERY_BROKER_URL": os.environ.get("CELERY_BROKER_URL", "redis://127.0.0.1:6379/0"),
        "CELERY_TASK_DEFAULT_QUEUE": f"shop-{database}",  # nobody consumes it; dropped below
        "EXTERNAL_API_URL": "log:",
        "EMAIL_URL": f"filemail://{workdir / 'mail'}",
        **BENCH_ENV,
        "LOG_LEVEL": "WARNING",
        "THROTTLE_ORDER_CREATE_RATE": "100000/min",  # as on the stack `make bench` measures
        "PROMETHEUS_MULTIPROC_DIR": str(workdir / "metrics"),
    }
    (workdir / "metrics").mkdir()
    manage = [sys.executable, "manage.py"]
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{database}"')
    try:
        subprocess.run([*manage, "migrate", "--noinput", "-v0"], env=env, cwd=SERVER, check=True)
        create_customer = (
            "from shop.accounts.models import User; "
            "User.objects.create_user('alice', 'alice@example.com', 'instructions-only')"
        )
        subprocess.run([*manage, "shell", "-c", create_customer], env=env, cwd=SERVER, check=True)
        subprocess.run(
            [*manage, "seed_bench", "--products", "1000", "--orders", "20"], env=env, cwd=SERVER, check=True
        )
        counts = {name: count(name, args.requests, env) for name in PATHS}
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        shutil.rmtree(workdir, ignore_errors=True)
        import redis

        redis.Redis.from_url(env["CELERY_BROKER_URL"]).delete(env["CELERY_TASK_DEFAULT_QUEUE"])

    print("| path | instructions per request | its ceiling's / its own |")
    print("|---|---:|---:|")
    for name, instructions in counts.items():
        ratio = f"{counts[REFERENCE[name]] / instructions:.2f}" if name in REFERENCE else ""
        print(f"| {name} | {instructions:,} | {ratio} |")
    OUT.mkdir(parents=True, exist_ok=True)
    result = {"requests": args.requests, "per_request": counts}
    (OUT / "instructions.json").write_text(json.dumps(result, indent=2))
    print(f"written to {OUT / 'instructions.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
