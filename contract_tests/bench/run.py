"""`make bench`: load-tests the real stack on loopback with wrk and compares every row with a
ceiling measured in the same run (Django plus one Memcached read, no auth, no validation).

    python contract_tests/bench/run.py [--scale 1000] [--seconds 10]

Prints a table (req/s, p50, p99, errors, ratio to the ceiling; for the reads measured in rounds
alternating with the ceiling, also the ratio of the web processes' CPU per request, which the
VM's drifting speed moves far less) and writes it as JSON to
build/bench/bench-<scale>.json. The stack runs with production settings and response validation
off, as in production; request validation stays on.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import psycopg
import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "server"))  # tests.helpers

from contract_tests.bench import ENV as BENCH_ENV
from contract_tests.stack import live_stack

HERE = Path(__file__).resolve().parent
OUT = HERE.parents[1] / "build" / "bench"


@dataclass
class Row:
    name: str
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    errors: int
    requests: int
    ratio: float = 0.0
    cpu_ratio: float = 0.0  # CPU per request of the reference / of this row
    note: str = ""


def wrk(url: str, *, seconds: int, connections: int, threads: int = 2, **env: str) -> dict:
    result = subprocess.run(
        [
            "wrk",
            f"-t{threads}",
            f"-c{connections}",
            f"-d{seconds}s",
            "--timeout",
            "10s",
            "-s",
            str(HERE / "wrk.lua"),
            url,
        ],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=seconds + 60,
        check=True,
    )
    line = next(line for line in result.stdout.splitlines() if line.startswith("BENCH_RESULT "))
    return json.loads(line.removeprefix("BENCH_RESULT "))


def row(name: str, measured: dict, note: str = "") -> Row:
    seconds = measured["duration_us"] / 1e6
    return Row(
        name=name,
        requests_per_s=round(measured["requests"] / seconds, 1),
        p50_ms=round(measured["p50_us"] / 1000, 2),
        p99_ms=round(measured["p99_us"] / 1000, 2),
        errors=measured["socket_errors"] + measured["non_2xx"],
        requests=measured["requests"],
        note=note,
    )


def markdown_table(rows: list[Row]) -> str:
    lines = [
        "| what | req/s | p50 ms | p99 ms | errors | ratio to ceiling | CPU ratio |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    lines += [
        f"| {r.name} | {r.requests_per_s:.0f} | {r.p50_ms:.2f} | {r.p99_ms:.2f} | {r.errors} "
        f"| {r.ratio:.2f} | {f'{r.cpu_ratio:.2f}' if r.cpu_ratio else ''} |"
        for r in rows
    ]
    return "\n".join(lines)


def web_cpu_seconds(stack) -> float:
    """CPU time (user + system) used so far by the web processes (gunicorn's master and workers:
    the session of `server/bin/web`). Unlike a request rate, it does not move when the VM lends
    the cores to someone else, so a ratio of CPU per request is the steadier measure of cost."""
    session, total = stack.processes["web"].pid, 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue  # exited meanwhile
        fields = stat[stat.rindex(")") + 2 :].split()
        if int(fields[3]) == session:
            total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


@dataclass
class Alternated:
    """`path` measured against `reference` in alternating rounds (medians of the rounds)."""

    ratio: float  # request rate of path / of reference
    own: dict
    reference: dict
    ratios: list[float]
    cpu_us: float  # web CPU per request of path
    reference_cpu_us: float

    @property
    def cpu_ratio(self) -> float:
        return self.reference_cpu_us / self.cpu_us


def alternating(stack, path: str, reference: str, *, seconds: int, rounds: int = 3, **wrk_args) -> Alternated:
    """`path` against `reference` on a shared VM whose speed drifts by half within minutes: the two
    alternate `rounds` times (each a third of `seconds`, after a 2 s warm-up of each: the first
    seconds after a change of path run slow), each round's ratio of request rates taken next to
    its own reference. Also measures the web processes' CPU per request of each (median of the
    rounds)."""
    for warm_up in (reference, path):
        wrk(stack.url(warm_up), seconds=2, **wrk_args)
    measured, cpu = [], {path: [], reference: []}

    def measure(target: str) -> dict:
        before = web_cpu_seconds(stack)
        result = wrk(stack.url(target), seconds=max(2, seconds // rounds), **wrk_args)
        cpu[target].append((web_cpu_seconds(stack) - before) * 1e6 / max(1, result["requests"]))
        return result

    for _ in range(rounds):
        ref = measure(reference)
        own = measure(path)
        rate = own["requests"] / own["duration_us"]
        measured.append((rate / (ref["requests"] / ref["duration_us"]), own, ref))
    measured.sort(key=lambda entry: entry[0])
    ratio, own, ref = measured[len(measured) // 2]
    ratios = [entry[0] for entry in measured]
    own_cpu, ref_cpu = statistics.median(cpu[path]), statistics.median(cpu[reference])
    return Alternated(ratio, own, ref, ratios, own_cpu, ref_cpu)


def paired_with_ceiling(stack, name: str, path: str, token: str, seconds: int) -> Row:
    """A cached read whose ratio is the median of rounds alternating with the ceiling."""
    paired = alternating(stack, path, "/bench/ceiling", seconds=seconds, connections=16, BENCH_TOKEN=token)
    note = (
        "ratio: median of rounds alternating with the ceiling, "
        + ", ".join(f"{r:.2f}" for r in paired.ratios)
        + f"; web CPU per request {paired.cpu_us:.0f} us against the ceiling's "
        f"{paired.reference_cpu_us:.0f} us: {paired.cpu_ratio:.2f}"
    )
    result = row(name, paired.own, note)
    result.ratio = round(paired.ratio, 2)
    result.cpu_ratio = round(paired.cpu_ratio, 2)
    return result


ADMIN_QUERIES = (
    "",
    "status=pending",
    "user={user}",
    "created_after=2020-01-01T00:00:00Z",
    "ordering=created_at",
    "ordering=total_price",
    "ordering=-total_price",
    "status=pending&ordering=-total_price",
    "user={user}&ordering=total_price",
    # the search (q): a recipient's full name (1 bulk order in 5,000), a surname (1 in 100) and a
    # first name (1 in 50), two pieces of names between those (1 in 1,666 and 1 in 714: a page
    # walks about 20 orders per match, the search's known limit at 2,000,000), a postal code, a
    # customer, a product on nearly every order, nothing; a page further on by its cursor
    "q=Ben%20Schmidt",
    "q=Schmidt",
    "q=Lukas",
    "q=en%20Schm",
    "q=Ben%20M",
    "q=00123",
    "q=alice",
    "q=Product%200000000",
    "q=nothing-like-it",
    "cursor",
)


def admin_list_page_one(stack, user_id: int, requests_each: int = 15) -> dict[str, float]:
    """Median ms of page 1 of `GET /api/admin/orders/` for each documented filter and ordering:
    one staff client, one request after another (the list is not cached)."""
    session = requests.Session()
    session.headers.update(stack.auth("admin"))
    medians = {}
    for query in ADMIN_QUERIES:
        if query == "cursor":  # the page the first page's `next` links to, five times over
            url = stack.url("/api/admin/orders/")
            for _ in range(5):
                url = stack.url(session.get(url, timeout=60).json()["next"])
        else:
            url = stack.url("/api/admin/orders/?" + query.format(user=user_id))
        timings = []
        for _ in range(requests_each):
            started = time.perf_counter()
            answer = session.get(url, timeout=60)
            timings.append((time.perf_counter() - started) * 1000)
            answer.raise_for_status()
        medians[query or "(none)"] = round(sorted(timings)[len(timings) // 2], 1)
    return medians


def admin_export(stack, query: str = "status=pending") -> dict[str, float]:
    """The CSV export of a filtered list, downloaded whole by one staff client: rows, seconds."""
    started = time.perf_counter()
    answer = requests.get(
        stack.url(f"/api/admin/orders/export.csv?{query}"),
        headers=stack.auth("admin"),
        stream=True,
        timeout=600,
    )
    answer.raise_for_status()
    lines = sum(chunk.count(b"\n") for chunk in answer.iter_content(1 << 16))
    seconds = time.perf_counter() - started
    return {
        "query": query,
        "rows": lines - 1,
        "seconds": round(seconds, 2),
        "rows_per_s": round((lines - 1) / seconds),
    }


def print_admin(admin_small: tuple, admin_large: tuple) -> None:
    print(
        f"\nGET /api/admin/orders/ page 1, median ms of 15 (one staff client), at {admin_small[0]:,} "
        f"and at {admin_large[0]:,} orders:\n"
    )
    print("| query | small | large | ratio |\n|---|---:|---:|---:|")
    for query, small in admin_small[1].items():
        large = admin_large[1][query]
        print(f"| `{query}` | {small:.1f} | {large:.1f} | {large / small:.2f} |")
    for count, _, exported in (admin_small, admin_large):
        print(
            f"- export.csv?{exported['query']} at {count:,} orders: {exported['rows']:,} rows in "
            f"{exported['seconds']} s ({exported['rows_per_s']:,} rows/s)"
        )


def admin_only(orders: int) -> int:
    """`--admin-only`: the staff's list, search and export at 1,000 orders and at `orders`,
    without the load rows (minutes instead of the whole bench)."""
    extra = {**BENCH_ENV, "LOG_LEVEL": "WARNING", "JWT_ACCESS_TOKEN_MINUTES": "240"}
    with live_stack(validate_responses=False, extra_env=extra) as stack:
        print(
            stack.manage("seed_bench", "--products", "50", "--orders", "50", "--bulk-orders", "1000").strip()
        )
        alice_id = requests.get(stack.url("/api/auth/me/"), headers=stack.auth("alice"), timeout=10).json()[
            "id"
        ]
        small = (order_count(stack), admin_list_page_one(stack, alice_id), admin_export(stack))
        print(stack.manage("seed_bench", "--products", "0", "--orders", "0", "--bulk-orders", str(orders)))
        large = (order_count(stack), admin_list_page_one(stack, alice_id), admin_export(stack))
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"bench-admin-{orders}.json"
    report = {"admin_order_list_page_1_ms": {str(small[0]): small[1], str(large[0]): large[1]}}
    report["admin_order_export"] = {str(small[0]): small[2], str(large[0]): large[2]}
    path.write_text(json.dumps(report, indent=2))
    print_admin(small, large)
    print(f"\nwritten to {path}")
    return 0


def order_count(stack) -> int:
    with psycopg.connect(stack.env["DATABASE_URL"]) as conn:
        return conn.execute("SELECT count(*) FROM orders_order").fetchone()[0]


def stock_of(stack, ids: list[int]) -> dict[int, tuple[int, int]]:
    """(stock, units ordered) per product, straight from the database."""
    with psycopg.connect(stack.env["DATABASE_URL"]) as conn:
        rows = conn.execute(
            "SELECT p.id, p.stock, COALESCE(SUM(i.quantity), 0) FROM catalog_product p "
            "LEFT JOIN orders_orderitem i ON i.product_id = p.id WHERE p.id = ANY(%s) GROUP BY p.id",
            (ids,),
        ).fetchall()
    return {pk: (stock, ordered) for pk, stock, ordered in rows}


def list_under_orders(stack, token: str, *, seconds: int, orders_per_s: float = 20) -> tuple[Row, dict]:
    """The product list read by 16 clients while orders for the products on its page arrive at a
    steady rate: the hit ratio (X-Cache, counted by wrk) and how old the stock shown was. A
    sampler reads the page every 50 ms; a sample's staleness is the time since the earliest
    order it does not show was created (0 when it shows them all), measured against the orders'
    `created_at`, so an order read while still committing counts as stale (an upper bound)."""
    headers = stack.auth("alice")
    page = requests.get(stack.url("/api/products/"), headers=headers, timeout=30).json()["results"]
    ids = [p["id"] for p in page]
    stop = threading.Event()
    samples: list[tuple[float, dict[int, int]]] = []
    statuses: list[int] = []

    def place(placer: int, placers: int) -> None:
        """One of `placers` clients, each at its share of the rate (an order takes ~0.1 s under load)."""
        session, started = requests.Session(), time.monotonic()
        for i in range(10**9):
            if stop.is_set():
                return
            line = {"product": ids[(i * placers + placer) % len(ids)], "quantity": 1}
            answer = session.post(
                stack.url("/api/orders/"), json={"items": [line]}, headers=headers, timeout=30
            )
            statuses.append(answer.status_code)
            stop.wait(max(0.0, started + (i + 1) * placers / orders_per_s - time.monotonic()))

    def sample() -> None:
        session = requests.Session()
        while not stop.wait(0.05):
            results = session.get(stack.url("/api/products/"), headers=headers, timeout=30).json()["results"]
            samples.append((time.time(), {p["id"]: p["stock"] for p in results}))

    window_start = time.time()
    placers = 4
    workers = [threading.Thread(target=place, args=(n, placers)) for n in range(placers)]
    workers.append(threading.Thread(target=sample))
    for worker in workers:
        worker.start()
    try:
        measured = wrk(
            stack.url("/api/products/"),
            seconds=seconds,
            connections=16,
            BENCH_TOKEN=token,
            BENCH_COUNT_CACHE="1",
        )
    finally:
        stop.set()
        for worker in workers:
            worker.join()
    with psycopg.connect(stack.env["DATABASE_URL"]) as conn:
        stock_now = dict(
            conn.execute("SELECT id, stock FROM catalog_product WHERE id = ANY(%s)", (ids,)).fetchall()
        )
        ordered = conn.execute(
            "SELECT i.product_id, extract(epoch FROM o.created_at)::float8, i.quantity "
            "FROM orders_orderitem i JOIN orders_order o ON o.id = i.order_id "
            "WHERE i.product_id = ANY(%s) AND o.created_at >= to_timestamp(%s) ORDER BY o.created_at",
            (ids, window_start - 5),
        ).fetchall()
    staleness = sorted(_staleness(at, shown, stock_now, ordered) for at, shown in samples)
    lookups = measured["hits"] + measured["misses"]
    numbers = {
        "orders_placed": statuses.count(201),
        "orders_refused": len(statuses) - statuses.count(201),
        "hit_ratio": round(measured["hits"] / lookups, 4) if lookups else 0.0,
        "samples": len(staleness),
        "stale_samples": sum(1 for s in staleness if s > 0),
        "staleness_p50_s": round(staleness[len(staleness) // 2], 3) if staleness else None,
        "staleness_max_s": round(staleness[-1], 3) if staleness else None,
    }
    note = (
        f"while {numbers['orders_placed']} orders were placed ({len(statuses) / seconds:.1f}/s; "
        f"asked for {orders_per_s:g}/s, "
        f"{numbers['orders_refused']} refused): hit ratio {numbers['hit_ratio']:.1%}; stock shown "
        f"{numbers['stale_samples']} of {numbers['samples']} samples behind, by at most "
        f"{numbers['staleness_max_s']} s (p50 {numbers['staleness_p50_s']} s)"
    )
    return row("GET /api/products/ while orders flow", measured, note), numbers


def _staleness(at: float, shown: dict[int, int], stock_now: dict[int, int], ordered) -> float:
    """Seconds since the earliest order created before `at` that the page at `at` did not show."""
    oldest_missed = at
    for pk, stock in shown.items():
        before = [
            (created, quantity) for product, created, quantity in ordered if product == pk and created <= at
        ]
        after = sum(quantity for product, created, quantity in ordered if product == pk and created > at)
        missed = stock - (stock_now[pk] + after)  # units sold by `at` that the page still showed
        for created, quantity in reversed(before):
            if missed <= 0:
                break
            missed -= quantity
            oldest_missed = min(oldest_missed, created)
    return at - oldest_missed


# The worker's CPU weight against the web's, as compose (`cpu_shares`) and Kubernetes (CPU
# requests) give their containers: twice. The bench starts each process in a session of its
# own, and with the kernel's autogroups each session is weighted as a container is; nice -3 is
# weight 1991 against the default 1024.
WORKER_AUTOGROUP_NICE = -3


def weigh_worker(stack) -> str:
    """Gives the worker's session (its pool processes included) the weight above; returns what
    the kernel then reports, or why it could not be set (no autogroups, not root)."""
    path = Path(f"/proc/{stack.processes['worker'].pid}/autogroup")
    try:
        path.write_text(str(WORKER_AUTOGROUP_NICE))
        return path.read_text().strip()
    except OSError as exc:
        return f"not set ({exc}): the worker competes as an equal"


def cpu_seconds(stack) -> dict[str, float]:
    """CPU seconds (user + system) used so far by the web and the worker, each with every process
    it started (reaped children included), and by PostgreSQL (the postmaster's tree: every
    backend, reaped ones included, and its background processes), read from /proc."""
    with psycopg.connect(stack.env["DATABASE_URL"]) as conn:  # a backend, to find the postmaster by
        backend = conn.execute("SELECT pg_backend_pid()").fetchone()[0]
        stats = _proc_stats()
    postmaster = stats[backend][0]
    children: dict[int, list[int]] = {}
    for pid, (ppid, _) in stats.items():
        children.setdefault(ppid, []).append(pid)

    def tree(pid: int) -> float:
        return stats.get(pid, (0, 0))[1] + sum(tree(child) for child in children.get(pid, []))

    ticks = os.sysconf("SC_CLK_TCK")
    return {
        "web": tree(stack.processes["web"].pid) / ticks,
        "worker": tree(stack.processes["worker"].pid) / ticks,
        "postgres": tree(postmaster) / ticks,
    }


def _proc_stats() -> dict[int, tuple[int, int]]:
    """pid: (parent pid, clock ticks of user + system time, its reaped children's included)."""
    stats: dict[int, tuple[int, int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # gone meanwhile
            continue
        # after the command: state ppid ... utime(11) stime(12) cutime(13) cstime(14), 0-based from state
        stats[int(entry)] = (int(fields[1]), sum(int(value) for value in fields[11:15]))
    return stats


def backlog(stack, since: float) -> tuple[int, int]:
    """Orders placed since `since` (epoch seconds), and how many of them still owe their PDF or
    e-mail."""
    with psycopg.connect(stack.env["DATABASE_URL"], autocommit=True) as conn:
        owed = conn.execute(
            "SELECT count(DISTINCT object_id) FROM outbox_entry WHERE status = 'pending' "
            "AND kind IN ('invoice', 'order_confirmation') AND created_at >= to_timestamp(%s)",
            (since,),
        ).fetchone()[0]
        placed = conn.execute(
            "SELECT count(*) FROM orders_order WHERE created_at >= to_timestamp(%s)", (since,)
        ).fetchone()[0]
    return placed, owed


def worker_drain(stack, since: float, load_stopped: float, timeout: float = 600) -> tuple[dict, str]:
    """Waits until every order placed since `since` (epoch seconds) has its PDF stored and its
    e-mail sent; returns the numbers and a note: orders fully processed per second over the whole
    run, and how long the backlog took to drain after the load stopped."""
    query = (
        "SELECT count(*), count(*) FILTER (WHERE pdf.status = 'done' AND mail.status = 'done'), "
        "array_agg(i.file) FILTER (WHERE i.id IS NOT NULL) FROM orders_order o "
        "JOIN outbox_entry pdf ON pdf.kind = 'invoice' AND pdf.object_id = o.id "
        "JOIN outbox_entry mail ON mail.kind = 'order_confirmation' AND mail.object_id = o.id "
        "LEFT JOIN invoices_invoice i ON i.order_id = o.id WHERE o.created_at >= to_timestamp(%s)"
    )
    deadline = time.monotonic() + timeout
    with psycopg.connect(stack.env["DATABASE_URL"], autocommit=True) as conn:
        while True:
            placed, done, files = conn.execute(query, (since,)).fetchone()
            if done == placed or time.monotonic() > deadline:
                break
            time.sleep(0.25)
    finished = time.time()
    media = Path(stack.env["DJANGO_MEDIA_ROOT"])
    missing = sum(1 for name in files or () if not (media / name).is_file())
    numbers = {
        "orders": placed,
        "processed": done,
        "pdf_missing": missing,
        "accepted_per_s": round(placed / (load_stopped - since), 1),
        "processed_per_s": round(done / (finished - since), 1),
        "drain_s": round(finished - load_stopped, 1),
    }
    note = (
        f"{done} of {placed} orders fully processed (PDF stored, e-mail sent), {missing} PDF files "
        f"missing; {numbers['processed_per_s']} orders/s end to end against "
        f"{numbers['accepted_per_s']} accepted per second over the same rows; the backlog drained "
        f"{numbers['drain_s']} s after the load stopped"
    )
    return numbers, note


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--scale", type=int, default=int(os.environ.get("SCALE", 1000)), help="products to seed"
    )
    parser.add_argument("--seconds", type=int, default=int(os.environ.get("BENCH_SECONDS", 10)))
    parser.add_argument(
        "--orders",
        type=int,
        default=int(os.environ.get("ORDERS", 200_000)),
        help="orders in the table for the admin list's last measure (inserted in bulk)",
    )
    parser.add_argument(
        "--admin-only",
        action="store_true",
        help="only the staff's order list, search and export, at 1,000 and at --orders orders",
    )
    args = parser.parse_args()
    if args.admin_only:
        return admin_only(args.orders)
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed: apt-get install wrk")

    extra = {**BENCH_ENV, "LOG_LEVEL": "WARNING", "JWT_ACCESS_TOKEN_MINUTES": "240"}
    with live_stack(
        validate_responses=False, web_workers=int(os.environ.get("WEB_WORKERS", 2)), extra_env=extra
    ) as stack:
        worker_weight = weigh_worker(stack)
        print(f"the worker's CPU weight: {worker_weight}")
        started = time.monotonic()
        print(stack.manage("seed_bench", "--products", str(args.scale), "--orders", "50").strip())
        print(f"seeded in {time.monotonic() - started:.0f}s")
        print(stack.manage("seed_bench", "--products", "0", "--orders", "0", "--bulk-orders", "1000").strip())
        alice_id = requests.get(stack.url("/api/auth/me/"), headers=stack.auth("alice"), timeout=10).json()[
            "id"
        ]
        admin_small = (order_count(stack), admin_list_page_one(stack, alice_id), admin_export(stack))
        token = stack.tokens["alice"]
        headers = stack.auth("alice")
        order_id = requests.get(stack.url("/api/orders/"), headers=headers, timeout=10).json()["results"][0][
            "id"
        ]
        for path in ("/api/products/", f"/api/orders/{order_id}/", "/bench/ceiling"):
            requests.get(stack.url(path), headers=headers, timeout=30)  # warm the caches

        s = args.seconds
        rows: list[Row] = []
        rows.append(
            row(
                "ceiling: Django + 1 Memcached read",
                wrk(stack.url("/bench/ceiling"), seconds=s, connections=16),
            )
        )
        rows.append(paired_with_ceiling(stack, "GET /api/products/ (cache hit)", "/api/products/", token, s))
        rows.append(
            row(
                "GET /api/products/ (cache miss)",
                wrk(
                    stack.url("/api/products/"),
                    seconds=s,
                    connections=16,
                    BENCH_TOKEN=token,
                    BENCH_MODE="distinct",
                ),
                "a new max_price filter every request",
            )
        )
        versus_plain = alternating(
            stack,
            "/api/products/",
            "/bench/plain/products/",
            seconds=2 * s,
            connections=1,
            threads=1,
            BENCH_TOKEN=token,
            BENCH_MODE="distinct",
        )
        rows.append(
            row(
                "GET /api/products/ (cache miss, 1 client)",
                versus_plain.own,
                "unloaded latency of a page 1 that is not cached (a new max_price filter every request); "
                f"{versus_plain.ratio:.2f}x the plain DRF list's request rate (median of rounds alternating "
                "with it: "
                + ", ".join(f"{r:.2f}" for r in versus_plain.ratios)
                + f"); web CPU per request {versus_plain.cpu_us:.0f} us against its "
                f"{versus_plain.reference_cpu_us:.0f} us",
            )
        )
        rows.append(
            row(
                "plain DRF: GET /bench/plain/products/ (1 client)",
                versus_plain.reference,
                "a ListAPIView of 20 products: no cache, no validation, simplejwt (bench/app/plain.py)",
            )
        )
        rows.append(
            paired_with_ceiling(
                stack, "GET /api/orders/{id}/ (cache hit)", f"/api/orders/{order_id}/", token, s
            )
        )

        spread = [
            p["id"]
            for p in requests.get(
                stack.url("/api/products/?page_size=50"), headers=headers, timeout=30
            ).json()["results"]
        ]
        orders_started = time.time()
        cpu_started = cpu_seconds(stack)

        placed_and_owed: dict[str, tuple[int, int]] = {}

        def placing(name: str, path: str, note: str = "", **auth: str) -> Row:
            """16 clients placing one-line orders for the 50 products at random."""
            products = ",".join(map(str, spread))
            measured = wrk(
                stack.url(path),
                seconds=s,
                connections=16,
                BENCH_MODE="order",
                BENCH_PRODUCTS=products,
                **auth,
            )
            rows.append(row(name, measured, note))
            placed_and_owed[name] = owed_at_end(rows[-1])
            return rows[-1]

        def owed_at_end(r: Row) -> tuple[int, int]:
            """How far the worker was behind when the row's load ended (issue 31: it keeps up)."""
            placed, left = backlog(stack, orders_started)
            owed = f"{left} orders still owed their PDF or e-mail at its end"
            r.note = "; ".join(filter(None, [r.note, owed]))
            return placed, left

        write_ceiling = placing(
            "write ceiling: place_order from a plain Django view",
            "/bench/write-ceiling",
            "the service alone: no DRF, validation, auth, throttle or key (bench/app/views.py)",
        )
        ours = placing("POST /api/orders/, 16 clients, 50 products", "/api/orders/", BENCH_TOKEN=token)
        plain_orders = placing(
            "plain DRF: POST /bench/plain/orders/, 16 clients, 50 products",
            "/bench/plain/orders/",
            "nested ModelSerializer, stock in serializer.create() (bench/app/plain.py)",
            BENCH_TOKEN=token,
        )
        versus = f"{ours.requests_per_s / plain_orders.requests_per_s:.2f}x the plain DRF implementation"
        ours.note = f"{versus}; {ours.note}"

        def contested(name: str, products: list[int], connections: int) -> Row:
            """`connections` clients ordering from a few `products`: the row, with the units sold
            and whether each product's stock and its order lines still agree (nothing oversold)."""
            before = stock_of(stack, products)
            measured = wrk(
                stack.url("/api/orders/"),
                seconds=s,
                connections=connections,
                BENCH_TOKEN=token,
                BENCH_MODE="order",
                BENCH_PRODUCTS=",".join(map(str, products)),
            )
            after = stock_of(stack, products)
            oversold = [
                pk
                for pk in products
                if after[pk][0] < 0 or before[pk][0] - after[pk][0] != after[pk][1] - before[pk][1]
            ]
            sold = sum(before[pk][0] - after[pk][0] for pk in products)
            agree = f"NO {oversold}" if oversold else "yes"
            rows.append(row(name, measured, f"{sold} units sold; stock and order lines agree: {agree}"))
            owed_at_end(rows[-1])
            return rows[-1]

        contested("POST /api/orders/, 32 clients, 5 hot products", spread[:5], 32)
        # A flash sale: 64 clients after one product with 5,000 units (issue 31: at least 0.7 of
        # the 50-product rate, stock exact, p99 under 1 s).
        with psycopg.connect(stack.env["DATABASE_URL"]) as conn:
            conn.execute("UPDATE catalog_product SET stock = 5000 WHERE id = %s", (spread[5],))
        flash = contested(
            "POST /api/orders/, 64 clients, 1 product (flash sale, 5,000 units)", spread[5:6], 64
        )
        flash.note += f"; {flash.requests_per_s / ours.requests_per_s:.2f} of the 50-product rate"
        mixed, mixed_numbers = list_under_orders(stack, token, seconds=s)
        drain, drain_note = worker_drain(stack, orders_started, time.time())
        share = round(drain["processed_per_s"] / write_ceiling.requests_per_s, 2)
        drain["processed_vs_write_ceiling"] = share
        drain_note += f" ({share} of the write ceiling's rate)"
        # The worker's own pace against the write ceiling's (goal 1): the rate above averages over
        # every write row, slower ones included; this is the row where the web accepts fastest,
        # the first, so nothing was owed when it began.
        placed, left = placed_and_owed[write_ceiling.name]
        kept = round((placed - left) / max(placed, 1), 2)
        drain["worker_in_write_ceiling_row"] = {"accepted": placed, "finished": placed - left, "share": kept}
        drain_note += (
            f"; in the write ceiling's row the worker finished {placed - left} of the {placed} orders "
            f"accepted by its end ({kept} of its rate)"
        )
        # CPU per fully processed order over the write rows and the drain: every process's share
        # (the web's includes the plain DRF rows' requests and the list read meanwhile).
        cpu_used = {name: used - cpu_started[name] for name, used in cpu_seconds(stack).items()}
        per_order = {
            name: round(used * 1000 / max(drain["processed"], 1), 2) for name, used in cpu_used.items()
        }
        per_order["total"] = round(sum(per_order.values()), 2)
        drain["cpu_ms_per_processed_order"] = per_order
        drain_note += "; CPU per processed order: " + ", ".join(f"{k} {v} ms" for k, v in per_order.items())
        started = time.monotonic()
        print(
            stack.manage("seed_bench", "--products", "0", "--orders", "0", "--bulk-orders", str(args.orders))
        )
        print(f"orders seeded in {time.monotonic() - started:.0f}s")
        admin_large = (order_count(stack), admin_list_page_one(stack, alice_id), admin_export(stack))
        for r in rows[-4:]:  # ours, plain DRF, the hot products, the flash sale
            share = r.requests_per_s / write_ceiling.requests_per_s
            r.note = "; ".join(filter(None, [r.note, f"{share:.2f} of the write ceiling"]))
        rows.append(mixed)

    ceiling = rows[0].requests_per_s
    for r in rows:
        r.ratio = r.ratio or round(r.requests_per_s / ceiling, 2)
    report = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": f"{os.cpu_count()} cores, {platform.machine()}, Python {platform.python_version()}",
        "scale": args.scale,
        "seconds_per_row": s,
        "web_workers": int(os.environ.get("WEB_WORKERS", 2)),
        "worker_autogroup": worker_weight,
        "rows": [asdict(r) for r in rows],
        "worker": drain,
        "list_under_orders": mixed_numbers,
        "admin_order_list_page_1_ms": {
            str(admin_small[0]): admin_small[1],
            str(admin_large[0]): admin_large[1],
        },
        "admin_order_export": {str(admin_small[0]): admin_small[2], str(admin_large[0]): admin_large[2]},
    }
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"bench-{args.scale}.json"
    path.write_text(json.dumps(report, indent=2))
    print(f"\n{report['date']} | {report['machine']} | {args.scale} products | {s}s per row\n")
    print(markdown_table(rows))
    for r in rows:
        if r.note:
            print(f"- {r.name}: {r.note}")
    print(f"- worker, the write ceiling and the POST rows: {drain_note}")
    print_admin(admin_small, admin_large)
    print(f"\nwritten to {path}")
    incomplete = drain["processed"] != drain["orders"] or drain["pdf_missing"]
    oversold = any("NO " in r.note for r in rows)
    return (
        1 if any(r.errors for r in rows) or oversold or incomplete or mixed_numbers["orders_refused"] else 0
    )


if __name__ == "__main__":
    sys.exit(main())
