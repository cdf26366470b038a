"""A chaos soak on a two-node live stack, and the invariants checked after it.

The cluster: two gunicorn processes (clients alternate between them and fail over), two Celery
workers, beat, two Memcached servers (`MEMCACHED_LOCATION` with both), a Redis of its own, an SMTP
server and the shipping partner stub. Clients place orders (half with an `Idempotency-Key`,
retried on the other web process after a timeout or a lost connection), cancel them, read products
and their own orders; a staff client moves orders along and changes prices. Meanwhile, on a fixed
seed, one fault at a time: a worker SIGKILLed, a Memcached server restarted, Redis stopped, a web
process SIGKILLed, the partner answering 503 or hanging. Then the faults stop, the backlog drains,
and the database, the invoice files, the SMTP server and the partner stub are checked.

    python -m contract_tests.soak --seconds 180 --clients 8 --seed 7     (make soak)

`contract_tests/test_soak.py` runs a short version of it in `make test`.
"""

from __future__ import annotations

import argparse
import itertools
import math
import os
import random
import re
import signal
import sys
import threading
import time
import uuid
from collections import Counter, defaultdict
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import requests

from contract_tests import services
from contract_tests.stack import Stack, free_port, live_stack, wait_ready
from tests.helpers import ADDRESS

FAULTS = ("worker", "memcached", "redis", "web", "partner", "postgres", "backends", "lock")
# The faults during which the database does not answer, or keeps requests waiting past the web's
# lock bound (DATABASE_LOCK_TIMEOUT, 2 s): 503s (with Retry-After) are expected.
DATABASE_FAULTS = ("postgres", "backends", "lock")
POSTGRES_DOWN_SECONDS = 5
LOCK_HELD_SECONDS = 3  # the products table locked as a migration would lock it
STALE_BOUND = 10.0  # seconds after a write's commit by which every process serves it (README)
FAULT_GRACE = 3.0  # a fault's window lasts this long after it is repaired
SUCCESSORS = {
    "pending": {"processing", "cancelled"},
    "processing": {"shipped", "cancelled"},
    "shipped": {"delivered"},
    "delivered": set(),
    "cancelled": set(),
}


def later_or_same(known: str, shown: str) -> bool:
    """Whether an order that was `known` can show `shown` now (statuses only move forward)."""
    seen, todo = {known}, [known]
    while todo:
        for following in SUCCESSORS[todo.pop()]:
            if following not in seen:
                seen.add(following)
                todo.append(following)
    return shown in seen


@contextmanager
def cluster(*, extra_env: dict[str, str] | None = None, pooled: bool = False, proxied: bool = False):
    """The live stack on two of everything (see the module's docstring); yields the Stack with
    `memcached` (both servers), `redis`, `smtp` and `web_names` attached. `pooled`: every
    process reaches PostgreSQL through PgBouncer (transaction pooling), as compose's do.
    `proxied`: the clients reach both web processes through nginx (`stack.proxy`, the
    repository's configuration), as compose's do."""
    memcached = [services.memcached(), services.memcached()]
    redis, smtp, postgres = services.redis(), services.SlowSMTP(), services.PostgreSQL()
    for daemon in (*memcached, redis, postgres):
        daemon.start()
    pooler = services.PgBouncer(f"127.0.0.1:{postgres.port}") if pooled else None
    if pooler:
        pooler.start()
    env = {
        "MEMCACHED_LOCATION": ",".join(f"127.0.0.1:{m.port}" for m in memcached),
        "MEMCACHED_DEAD_TIMEOUT": "2",
        "CELERY_BROKER_URL": f"redis://127.0.0.1:{redis.port}/0",
        "CELERY_RESULT_BACKEND": f"redis://127.0.0.1:{redis.port}/1",
        "CELERY_VISIBILITY_TIMEOUT": "5",  # a killed worker's task comes back after 5 s
        "CELERY_TASK_TIME_LIMIT": "8",
        "OUTBOX_SWEEP_INTERVAL": "1",
        "OUTBOX_RESUME_AFTER": "3",
        "EXTERNAL_API_TIMEOUT": "1",
        "EXTERNAL_API_RETRY_BACKOFF": "0.5",
        "EMAIL_URL": f"smtp://127.0.0.1:{smtp.port}",
        "WEB_WORKERS": "1",
        "WORKER_CONCURRENCY": "1",
        "WORKER_NAME": "worker1@%h",
        "DATABASE_RETRY_MAX_DELAY": "2",  # tasks that met the database gone try again soon after
        **(extra_env or {}),
    }
    process_env = {
        "web2": {"WEB_BIND": f"127.0.0.1:{free_port()}"},
        "worker2": {"WORKER_NAME": "worker2@%h"},
    }
    try:
        with live_stack(
            extra_env=env,
            processes=("web", "web2", "worker", "worker2", "beat"),
            process_env=process_env,
            database_admin_url=f"{postgres.url}/postgres",
            pooler_url=pooler.url if pooler else None,
        ) as stack:
            stack.memcached, stack.redis, stack.smtp, stack.postgres = memcached, redis, smtp, postgres
            stack.web_names = ("web", "web2")
            stack.proxy = None
            if proxied:
                stack.proxy = services.Nginx(
                    [stack.web_url(name).removeprefix("http://") for name in stack.web_names],
                    static_root=stack.env["DJANGO_STATIC_ROOT"],
                )
                stack.proxy.start()
            try:
                yield stack
            finally:
                if stack.proxy:
                    stack.proxy.remove()
    finally:
        smtp.shutdown()
        for daemon in (*memcached, redis):
            daemon.stop()
        if pooler:
            pooler.remove()
        postgres.remove()


@dataclass
class Ledger:
    """What the clients saw, for the checks afterwards. Times are time.monotonic()."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    statuses: Counter = field(default_factory=Counter)  # (method path-kind, status)
    server_errors: list[tuple[float, str, int]] = field(default_factory=list)
    unavailable_without_retry_after: int = 0
    read_times: list[float] = field(default_factory=list)  # reads answered 200 or 304
    probe_reads: Counter = field(default_factory=Counter)  # the probe order read while stopped
    database_down: list[tuple[float, float]] = field(default_factory=list)  # PostgreSQL stopped
    accepted: dict[int, str] = field(default_factory=dict)  # order id -> user
    keyed: dict[str, set[int]] = field(default_factory=lambda: defaultdict(set))  # key -> ids answered
    unknown_outcomes: int = 0  # an unkeyed POST whose answer was lost
    lost_answers: list[tuple[float, str]] = field(default_factory=list)  # (when, kind)
    crashed: list[str] = field(default_factory=list)  # threads of the load or the faults that died
    keyed_retries: int = 0
    order_log: dict[int, list[tuple[float, float, str]]] = field(default_factory=lambda: defaultdict(list))
    price_log: dict[int, list[tuple[float, float, str]]] = field(default_factory=lambda: defaultdict(list))
    reads: int = 0
    stale_within_bound: int = 0
    stale_beyond_bound: list[str] = field(default_factory=list)
    faults: list[tuple[str, float, float]] = field(default_factory=list)

    def lost(self, kind: str) -> None:
        """A request whose answer never came (reset, timed out, nobody listening)."""
        with self.lock:
            self.lost_answers.append((time.monotonic(), kind))

    def record(self, kind: str, response: requests.Response) -> None:
        with self.lock:
            self.statuses[(kind, response.status_code)] += 1
            if response.status_code >= 500:
                self.server_errors.append((time.monotonic(), kind, response.status_code))
            if response.status_code == 503 and not response.headers.get("Retry-After"):
                self.unavailable_without_retry_after += 1
            if kind.startswith("read_") and response.status_code in (200, 304):
                self.read_times.append(time.monotonic())

    def check(
        self, log: list[tuple[float, float, str]], shown: str, started: float, *, ordered: bool, what: str
    ):
        """A read that started at `started` showed `shown`: stale if a write that had completed
        before it began is not reflected (statuses may be newer; prices must be a value written
        no earlier than the last write completed before the read)."""
        with self.lock:
            self.reads += 1
            done = [entry for entry in log if entry[1] < started]
            if not done:
                return
            _, floor_done, floor_value = max(done, key=lambda entry: entry[1])
            concurrent = {entry[2] for entry in log if entry[1] >= started}  # under way, or unknown
            fresh = later_or_same(floor_value, shown) if ordered else shown in concurrent | {floor_value}
            if fresh:
                return
            age = started - floor_done
            if age > STALE_BOUND:
                self.stale_beyond_bound.append(f"{what}: showed {shown}, {floor_value} since {age:.1f}s")
            else:
                self.stale_within_bound += 1


class Client:
    """One simulated customer (or the staff member), alternating between the web processes."""

    def __init__(self, stack: Stack, ledger: Ledger, user: str, rng: random.Random) -> None:
        self.stack, self.ledger, self.user, self.rng = stack, ledger, user, rng
        proxy = getattr(stack, "proxy", None)
        self.urls = itertools.cycle(
            [proxy.url] if proxy else [stack.web_url(name) for name in stack.web_names]
        )
        self.session = requests.Session()
        self.headers = stack.auth(user)

    def call(self, method: str, path: str, kind: str, *, timeout: float = 5, **kwargs):
        """Sends to the next web process; a refused connection (a process down) goes to the
        other one. Returns the response, or None when the outcome is unknown."""
        headers = {**self.headers, **kwargs.pop("headers", {})}
        for _ in range(4):
            url = next(self.urls) + path
            try:
                response = self.session.request(method, url, headers=headers, timeout=timeout, **kwargs)
            except requests.ConnectionError as exc:
                if "refused" in str(exc).lower():
                    time.sleep(0.1)
                    continue
                return self.ledger.lost(kind)
            except requests.RequestException:  # timed out, or the body cut off (a process killed)
                return self.ledger.lost(kind)
            self.ledger.record(kind, response)
            return response
        return self.ledger.lost(kind)


def place_order(client: Client, products: list[int]) -> int | None:
    """Places an order of one or two lines; returns its id when the client learnt it."""
    ledger = client.ledger
    lines = {pid: client.rng.randint(1, 3) for pid in client.rng.sample(products, client.rng.randint(1, 2))}
    body = {
        "items": [{"product": pid, "quantity": qty} for pid, qty in lines.items()],
        "shipping_address": ADDRESS,
    }
    key = uuid.uuid4().hex if client.rng.random() < 0.5 else None
    for attempt in range(6 if key else 1):
        started = time.monotonic()
        headers = {"Idempotency-Key": key} if key else {}
        response = client.call("POST", "/api/orders/", "place", json=body, headers=headers, timeout=3)
        if response is not None and response.status_code in (502, 504):  # the proxy lost the answer
            response = None
        if response is None:
            if not key:
                with ledger.lock:
                    ledger.unknown_outcomes += 1
                return None
            with ledger.lock:
                ledger.keyed_retries += 1
            time.sleep(0.3 * (attempt + 1))
            continue
        if response.status_code == 503:  # the database is gone: made in full or not at all
            if not key:  # (a commit lost on the way may have been made: unknown, like a lost answer)
                with ledger.lock:
                    ledger.unknown_outcomes += 1
                return None
            time.sleep(min(float(response.headers.get("Retry-After", 1)), 1.0))
            continue
        if response.status_code == 201:
            order_id = response.json()["id"]
            with ledger.lock:
                ledger.accepted[order_id] = client.user
                if key:
                    ledger.keyed[key].add(order_id)
                if not ledger.order_log[order_id]:
                    ledger.order_log[order_id].append((started, time.monotonic(), "pending"))
            return order_id
        return None
    return None


def change_status(client: Client, order_id: int, status: str) -> None:
    started = time.monotonic()
    response = client.call("PATCH", f"/api/orders/{order_id}/", "status", json={"status": status})
    if response is not None and response.status_code == 200:
        with client.ledger.lock:
            client.ledger.order_log[order_id].append((started, time.monotonic(), response.json()["status"]))


def read_order(client: Client, order_id: int) -> None:
    started = time.monotonic()
    response = client.call("GET", f"/api/orders/{order_id}/", "read_order")
    if response is not None and response.status_code == 200:
        client.ledger.check(
            client.ledger.order_log[order_id],
            response.json()["status"],
            started,
            ordered=True,
            what=f"order {order_id}",
        )


def read_products(client: Client, products: list[int]) -> None:
    started = time.monotonic()
    if client.rng.random() < 0.5:
        response = client.call("GET", "/api/products/?page_size=100", "read_list")
        shown = response.json()["results"] if response is not None and response.status_code == 200 else []
    else:
        pid = client.rng.choice(products)
        response = client.call("GET", f"/api/products/{pid}/", "read_product")
        shown = [response.json()] if response is not None and response.status_code == 200 else []
    for product in shown:
        if product["id"] in client.ledger.price_log:
            client.ledger.check(
                client.ledger.price_log[product["id"]],
                product["price"],
                started,
                ordered=False,
                what=f"product {product['id']} price",
            )


def customer(client: Client, products: list[int], stop: threading.Event) -> None:
    mine: list[int] = []
    while not stop.is_set():
        roll = client.rng.random()
        if roll < 0.40:
            if (order_id := place_order(client, products)) is not None:
                mine.append(order_id)
        elif roll < 0.48 and mine:
            change_status(client, client.rng.choice(mine), "cancelled")
        elif roll < 0.70 and mine:
            read_order(client, client.rng.choice(mine[-20:]))
        else:
            read_products(client, products)


def staff(client: Client, products: list[int], stop: threading.Event) -> None:
    prices = (f"{p / 100:.2f}" for p in itertools.count(1001, 7))  # every price written is unique
    while not stop.is_set():
        roll = client.rng.random()
        with client.ledger.lock:
            current = {oid: log[-1][2] for oid, log in client.ledger.order_log.items() if log}
        movable = [oid for oid, status in current.items() if status in ("pending", "processing")]
        if roll < 0.15:
            pid, price = client.rng.choice(products), next(prices)
            # Logged before it is sent: a read may see it commit before its answer arrives here.
            entry = [time.monotonic(), math.inf, price]
            with client.ledger.lock:
                client.ledger.price_log[pid].append(entry)
            response = client.call("PATCH", f"/api/products/{pid}/", "price", json={"price": price})
            if response is not None and response.status_code == 200:
                with client.ledger.lock:
                    entry[1] = time.monotonic()
        elif movable:
            oid = client.rng.choice(movable)
            change_status(client, oid, "processing" if current[oid] == "pending" else "shipped")
        time.sleep(0.2)


def inject_faults(
    stack: Stack,
    ledger: Ledger,
    rng: random.Random,
    stop: threading.Event,
    gap: tuple[float, float],
    faults: tuple[str, ...] = FAULTS,
):
    """One fault at a time, every `gap` seconds (uniform), each kind in a seeded order."""
    kinds = list(faults)
    rng.shuffle(kinds)
    for kind in itertools.cycle(kinds):
        if stop.wait(rng.uniform(*gap)):
            return
        started = time.monotonic()
        if kind == "worker":
            name = rng.choice(["worker", "worker2"])
            os.killpg(stack.processes[name].pid, signal.SIGKILL)
            stack.processes[name].wait()
            time.sleep(1)
            stack.start(name)
        elif kind == "memcached":
            server = rng.choice(stack.memcached)
            server.stop()
            time.sleep(1)
            server.start()
        elif kind == "redis":
            stack.redis.stop()
            time.sleep(3)
            stack.redis.start()
        elif kind == "web":
            name = rng.choice(stack.web_names)
            os.killpg(stack.processes[name].pid, signal.SIGKILL)
            stack.processes[name].wait()
            time.sleep(1)
            stack.start(name)
            wait_ready(stack, name)
        elif kind == "postgres":  # as `pg_ctlcluster ... stop -m fast`, then a start
            probe = [f"{stack.web_url(name)}/api/orders/{stack.probe_order}/" for name in stack.web_names]
            for path in probe:  # cached on both web processes (nothing changes it)
                requests.get(path, headers=stack.auth("admin"), timeout=5)
            stack.postgres.stop()
            stopped = time.monotonic()
            while time.monotonic() - stopped < POSTGRES_DOWN_SECONDS:
                for path in probe:
                    status = requests.get(path, headers=stack.auth("admin"), timeout=5).status_code
                    with ledger.lock:
                        ledger.probe_reads[status] += 1
                time.sleep(0.5)
            with ledger.lock:
                ledger.database_down.append((stopped, time.monotonic()))
            stack.postgres.start()
        elif kind == "backends":  # every session of the shop's database terminated at once
            database = stack.env["DATABASE_URL"].rsplit("/", 1)[1]
            with psycopg.connect(stack.postgres.url + "/postgres", autocommit=True) as conn:
                conn.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE datname = %s AND pid <> pg_backend_pid()",
                    (database,),
                )
        elif kind == "lock":  # ACCESS EXCLUSIVE on the products: requests queue on it, not a socket
            with psycopg.connect(stack.env["DATABASE_URL"]) as conn:
                conn.execute("LOCK TABLE catalog_product IN ACCESS EXCLUSIVE MODE")
                time.sleep(LOCK_HELD_SECONDS)
        elif kind == "partner":
            stack.partner.default = rng.choice([503, "hang"])
            stack.partner.hang_seconds = 2
            time.sleep(4)
            stack.partner.default = 201
        with ledger.lock:
            ledger.faults.append((kind, started, time.monotonic() + FAULT_GRACE))


@dataclass
class Report:
    seconds: float
    clients: int
    seed: int
    orders: int
    requests: int
    rows: list[tuple[str, str, bool]]  # (invariant, measured, held)
    faults: Counter
    drain_seconds: float

    @property
    def held(self) -> bool:
        return all(held for _, _, held in self.rows)

    def table(self) -> str:
        faults = ", ".join(f"{kind} x{n}" for kind, n in sorted(self.faults.items()))
        lines = [
            f"Soak: {self.seconds:.0f} s, {self.clients} clients + staff, seed {self.seed}; "
            f"faults: {faults}; "
            f"{self.requests} requests, {self.orders} orders; drained in {self.drain_seconds:.1f} s",
            "",
            "| invariant | measured | held |",
            "|---|---|---|",
            *(
                f"| {name} | {measured} | {'yes' if held else '**NO**'} |"
                for name, measured, held in self.rows
            ),
        ]
        return "\n".join(lines)


def soak(
    stack: Stack,
    *,
    seconds: float,
    clients: int,
    seed: int,
    gap: tuple[float, float] = (6, 10),
    faults: tuple[str, ...] = FAULTS,
) -> Report:
    rng = random.Random(seed)
    ledger = Ledger()
    admin = Client(stack, ledger, "admin", random.Random(rng.random()))
    products, initial = [], {}
    for i in range(8):
        stock = 2000  # more than 8 clients buy in 3 minutes: orders keep flowing to the end
        response = admin.call(
            "POST",
            "/api/products/",
            "setup",
            json={"name": f"Soak item {i}", "price": "10.00", "stock": stock, "category": "home"},
        )
        products.append(response.json()["id"])
        initial[products[-1]] = stock
        ledger.price_log[products[-1]].append((0.0, 0.0, "10.00"))

    # An order nobody changes, read while PostgreSQL is stopped: its cached body must answer.
    probe_product = admin.call(
        "POST",
        "/api/products/",
        "setup",
        json={"name": "Probe", "price": "5.00", "stock": 1, "category": "home"},
    ).json()["id"]
    stack.probe_order = admin.call(
        "POST",
        "/api/orders/",
        "setup",
        json={"items": [{"product": probe_product, "quantity": 1}], "shipping_address": ADDRESS},
    ).json()["id"]
    ledger.accepted[stack.probe_order] = "admin"

    stop_load, stop_faults = threading.Event(), threading.Event()
    users = ["alice", "bob"]

    def recorded(target):
        """A thread that dies stops its share of the load, or the faults: the report says so."""

        def run(*args):
            try:
                target(*args)
            except Exception as exc:
                with ledger.lock:
                    ledger.crashed.append(f"{target.__name__}: {type(exc).__name__}: {exc}"[:300])
                raise

        return run

    threads = [
        threading.Thread(
            target=recorded(customer),
            args=(Client(stack, ledger, users[i % 2], random.Random(rng.random())), products, stop_load),
        )
        for i in range(clients)
    ]
    threads.append(threading.Thread(target=recorded(staff), args=(admin, products, stop_load)))
    threads.append(
        threading.Thread(
            target=recorded(inject_faults),
            args=(stack, ledger, random.Random(seed), stop_faults, gap, faults),
        )
    )
    started = time.monotonic()
    for thread in threads:
        thread.start()
    time.sleep(seconds)
    stop_faults.set()
    threads[-1].join()  # the fault under way is repaired first
    stop_load.set()
    for thread in threads:
        thread.join(timeout=60)
    drain_started = time.monotonic()
    requeued = drain(stack)
    drain_seconds = time.monotonic() - drain_started
    rows = invariants(stack, ledger, initial, requeued)
    return Report(
        seconds=time.monotonic() - started - drain_seconds,
        clients=clients,
        seed=seed,
        orders=len(ledger.accepted),
        requests=sum(ledger.statuses.values()),
        rows=rows,
        faults=Counter(kind for kind, _, _ in ledger.faults),
        drain_seconds=drain_seconds,
    )


def outbox_counts(stack: Stack, status: str) -> int:
    return stack.query("SELECT count(*) FROM outbox_entry WHERE status = %s", status)[0][0]


def drain(stack: Stack, timeout: float = 180) -> int:
    """Waits until nothing is pending; if anything failed (the partner down longer than the retries
    last), staff's one command sends it again, and we wait again. Returns the rows requeued."""
    for name in ("web", "web2", "worker", "worker2", "beat"):  # every process up again
        if stack.processes[name].poll() is not None:
            stack.start(name)
    requeued = 0
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if outbox_counts(stack, "pending") == 0:
            if outbox_counts(stack, "failed") == 0:
                return requeued
            out = stack.manage("requeue_failed")
            requeued += sum(int(n) for n in re.findall(r"=(\d+)", out))
        time.sleep(0.5)
    raise AssertionError(f"the backlog did not drain in {timeout}s:\n{diagnostics(stack)}")


def diagnostics(stack: Stack) -> str:
    """What a stuck drain looks like from outside: pending rows per table, the broker's queues,
    and the end of each worker's and beat's log."""
    import redis

    lines = [
        f"outbox: {stack.query('SELECT kind, status, count(*) FROM outbox_entry GROUP BY kind, status')}"
    ]
    broker = redis.Redis.from_url(stack.env["CELERY_BROKER_URL"])
    queue = stack.env["CELERY_TASK_DEFAULT_QUEUE"]
    lines.append(
        f"broker: {queue}={broker.llen(queue)} {queue}-control={broker.llen(queue + '-control')}"
        f" unacked={broker.hlen('unacked')}"
    )
    for name in ("worker", "worker2", "beat"):
        alive = stack.processes[name].poll() is None
        tail = "\n    ".join(stack.log(name).splitlines()[-25:])
        lines.append(f"--- {name} ({'running' if alive else 'exited'}), last lines:\n    {tail}")
    return "\n".join(lines)


def invariants(
    stack: Stack, ledger: Ledger, initial: dict[int, int], requeued: int
) -> list[tuple[str, str, bool]]:
    rows = []

    def row(name: str, measured: str, held: bool) -> None:
        rows.append((name, measured, held))

    # Stock conservation, per product
    sold = dict(
        stack.query(
            "SELECT i.product_id, sum(i.quantity) FROM orders_orderitem i"
            " JOIN orders_order o ON o.id = i.order_id WHERE o.status <> 'cancelled' GROUP BY i.product_id",
        )
    )
    stock = dict(stack.query("SELECT id, stock FROM catalog_product WHERE id = ANY(%s)", list(initial)))
    wrong = [pid for pid in initial if stock[pid] + sold.get(pid, 0) != initial[pid]]
    row(
        "stock conservation (initial = stock + sold, per product)",
        f"{len(initial) - len(wrong)}/{len(initial)} products; {sum(sold.values())} units sold",
        not wrong,
    )

    # Orders: every 201 exists; nothing the clients cannot account for
    orders = dict(stack.query("SELECT id, status FROM orders_order"))
    missing = set(ledger.accepted) - set(orders)
    unaccounted = len(set(orders) - set(ledger.accepted))
    row(
        "every 201 is an order; no order nobody asked for",
        f"{len(ledger.accepted)} answered 201, {len(missing)} missing; {unaccounted} more in the database "
        f"≤ {ledger.unknown_outcomes} unkeyed requests whose answer was lost",
        not missing and unaccounted <= ledger.unknown_outcomes,
    )

    # Idempotency: one order per key, whichever web process each retry reached
    keys = dict(stack.query("SELECT key, order_id FROM orders_idempotencykey"))
    split = [key for key, ids in ledger.keyed.items() if len(ids) != 1 or keys.get(key) not in ids]
    row(
        "one order per Idempotency-Key (retries alternate web processes)",
        f"{len(ledger.keyed)} keys, {ledger.keyed_retries} retries after a lost answer, {len(split)} split",
        not split,
    )

    # Invoices: one PDF per order, on disk
    invoices = stack.query(
        "SELECT e.object_id, e.status, i.file FROM outbox_entry e"
        " LEFT JOIN invoices_invoice i ON i.order_id = e.object_id WHERE e.kind = 'invoice'"
    )
    media = Path(stack.env["DJANGO_MEDIA_ROOT"])
    pdfs = sorted(media.rglob("*.pdf"))
    per_order = Counter(order_id for order_id, _, _ in invoices)
    bad = [
        order_id
        for order_id, status, path in invoices
        if status != "done" or not path or not (media / path).is_file() or per_order[order_id] != 1
    ]
    row(
        "one PDF per order",
        f"{len(invoices)} invoices ready for {len(orders)} orders, {len(pdfs)} PDF files",
        not bad and len(invoices) == len(orders) == len(pdfs),
    )

    # E-mails: as many as the database says were sent, each accepted once by the server
    delivered = Counter()
    for subject in stack.smtp.accepted:
        if match := re.search(r"order #(\d+) confirmed", subject):
            delivered[int(match[1])] += 1
    emails = stack.query(
        "SELECT object_id, status, attempts FROM outbox_entry WHERE kind = 'order_confirmation'"
    )
    lost = [o for o, status, _ in emails if status == "done" and delivered[o] == 0]
    unexplained = [o for o, _, attempts in emails if delivered[o] > 1 and delivered[o] > attempts]
    crash_window = sum(1 for o, _, attempts in emails if delivered[o] > 1 and delivered[o] <= attempts)
    unsent = [
        o
        for o, status in orders.items()
        if status != "cancelled" and o not in {e[0] for e in emails if e[1] == "done"}
    ]
    statuses = Counter(status for _, status, _ in emails)
    row(
        "one confirmation e-mail per order",
        f"{statuses['done']} sent, {statuses['skipped']} skipped (cancelled first); {len(lost)} lost, "
        f"{len(unsent)} live orders unconfirmed, {crash_window} sent twice by a worker killed mid-send",
        not lost and not unsent and not unexplained,
    )

    # Partner: one notice per shipment, every call of it with the same key
    shipped = {o for o, status in orders.items() if status in ("shipped", "delivered")}
    notices = dict(stack.query("SELECT object_id, status FROM outbox_entry WHERE kind = 'shipping_notice'"))
    calls = defaultdict(list)
    for call in stack.partner.calls:
        calls[call["json"]["order_id"]].append(call)
    unsent_notices = [o for o in shipped if notices.get(o) != "done"]
    keys_per_order = [len({c["headers"].get("Idempotency-Key") for c in calls[o]}) for o in shipped]
    accepted_per_order = [sum(200 <= c.get("answer", 0) < 300 for c in calls[o]) for o in shipped]
    row(
        "one partner notice per shipment, one Idempotency-Key each",
        f"{len(shipped)} shipped, {len(unsent_notices)} not notified, "
        f"{sum(len(calls[o]) for o in shipped)} calls; "
        f"max accepted per shipment {max(accepted_per_order, default=0)} (same key)",
        not unsent_notices and set(keys_per_order) <= {1} and min(accepted_per_order, default=1) >= 1,
    )

    row(
        "every client and the faults ran to the end",
        "; ".join(ledger.crashed) or f"{len(ledger.lost_answers)} answers lost on the way, none fatal",
        not ledger.crashed,
    )

    # Nothing stuck
    row(
        "nothing pending or failed after the drain",
        f"{outbox_counts(stack, 'pending')} pending, {outbox_counts(stack, 'failed')} failed, "
        f"{requeued} requeued by `requeue_failed`",
        outbox_counts(stack, "pending") == 0 and outbox_counts(stack, "failed") == 0,
    )

    # 5xx
    in_window = [
        error
        for error in ledger.server_errors
        if any(start <= error[0] <= end for _, start, end in ledger.faults)
    ]
    row(
        "no 5xx outside fault windows",
        f"{len(ledger.server_errors) - len(in_window)} outside, {len(in_window)} inside",
        len(ledger.server_errors) == len(in_window),
    )
    database_windows = [(start, end) for kind, start, end in ledger.faults if kind in DATABASE_FAULTS]
    unavailable = [error for error in ledger.server_errors if error[2] == 503]
    outside_database = [
        e for e in unavailable if not any(start <= e[0] <= end for start, end in database_windows)
    ]
    row(
        "no 500 at any time; 503 (with Retry-After) only while the database is down",
        f"{sum(e[2] == 500 for e in ledger.server_errors)} x 500, {len(unavailable)} x 503 "
        f"({len(outside_database)} outside a database fault, {ledger.unavailable_without_retry_after} "
        "without Retry-After)",
        not any(e[2] == 500 for e in ledger.server_errors)
        and not outside_database
        and ledger.unavailable_without_retry_after == 0,
    )
    if getattr(stack, "proxy", None):
        kills = [(start, end) for kind, start, end in ledger.faults if kind == "web"]

        def during_a_kill(when: float) -> bool:
            return any(start <= when <= end for start, end in kills)

        reads_failed = [e for e in ledger.server_errors if e[1].startswith("read_") and during_a_kill(e[0])]
        reads_lost = [e for e in ledger.lost_answers if e[1].startswith("read_") and during_a_kill(e[0])]
        orders_502 = [e for e in ledger.server_errors if e[1] == "place" and e[2] in (502, 504)]
        # A read whose answer had begun when its process died is cut off (nginx cannot send it
        # again once the client has the headers); every other read goes to the other process.
        in_flight = len(kills) * int(stack.env.get("WEB_THREADS", 4))
        row(
            "through the proxy, a web process killed costs only the reads it was answering",
            f"{len(kills)} kills; reads in their windows: {len(reads_failed)} failed, {len(reads_lost)} "
            f"cut off (at most the {in_flight} it could have been answering); orders answered 502/504 "
            f"(the proxy never sends a POST twice; the client retries with its key): {len(orders_502)}",
            bool(kills) and len(reads_failed) + len(reads_lost) <= in_flight,
        )
    answered = sum(
        any(start <= when <= end for start, end in ledger.database_down) for when in ledger.read_times
    )
    probes = sum(ledger.probe_reads.values())
    row(
        "cached reads answered while PostgreSQL was stopped",
        f"a cached order read {probes} times on both web processes during {len(ledger.database_down)} "
        f"stops of {POSTGRES_DOWN_SECONDS} s: {ledger.probe_reads[200]} answered 200; the clients' "
        f"reads answered from the cache meanwhile: {answered} (the rest met bodies orders had invalidated)",
        ledger.probe_reads[200] == probes and (probes > 0 or not ledger.database_down),
    )

    # Reads agree with the database, during and after (the list shows stock moved by orders up to
    # PRODUCT_LIST_STOCK_LAG, 1 s, late)
    time.sleep(1.5)
    admin = Client(stack, Ledger(), "admin", random.Random(0))
    disagree = 0
    for name in stack.web_names:
        admin.urls = itertools.repeat(stack.web_url(name))
        listed = admin.call("GET", "/api/products/?page_size=100", "final").json()["results"]
        prices = dict(stack.query("SELECT id, price::text FROM catalog_product"))
        disagree += sum(
            1
            for p in listed
            if p["id"] in initial and (p["stock"], p["price"]) != (stock[p["id"]], prices[p["id"]])
        )
        for order_id in list(orders)[-40:]:
            shown = admin.call("GET", f"/api/orders/{order_id}/", "final").json()["status"]
            disagree += shown != orders[order_id]
    row(
        f"no read staler than {STALE_BOUND:.0f} s; final reads equal the database",
        f"{ledger.reads} values read and checked, {len(ledger.stale_beyond_bound)} stale past the bound"
        f"{' ' + str(ledger.stale_beyond_bound[:3]) if ledger.stale_beyond_bound else ''}, "
        f"{ledger.stale_within_bound} within it; {disagree} final reads disagree",
        not ledger.stale_beyond_bound and disagree == 0,
    )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=180)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", default="build/soak/report.md")
    parser.add_argument("--pooled", action="store_true", help="every process through PgBouncer, as compose's")
    parser.add_argument("--proxied", action="store_true", help="the clients through nginx, as compose's")
    args = parser.parse_args(argv)
    with cluster(pooled=args.pooled, proxied=args.proxied) as stack:
        report = soak(stack, seconds=args.seconds, clients=args.clients, seed=args.seed)
    text = report.table()
    print(text)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(text + "\n")
    return 0 if report.held else 1


if __name__ == "__main__":
    sys.exit(main())
