"""What every test module shares (as healthchecks keeps hc/test.py): the problem assertion, a
bounded wait and the shipping partner's stub. Test modules import from here, never from each
other; the live-stack tests in contract_tests/ use it too."""

import contextlib
import http.server
import io
import json
import logging
import threading
import time
from collections.abc import Callable

import pytest
from django.db import connection

PROBLEM = "application/problem+json"


def assert_problem(response, status: int, code: str) -> dict:
    """Asserts an RFC 9457 problem with that status and code (a Django test response or a
    `requests` response alike); returns its body."""
    assert response.status_code == status, response.content[:1000]
    assert response.headers["Content-Type"] == PROBLEM
    body = response.json()
    assert body["status"] == status
    assert body["code"] == code
    assert body["type"].endswith("/problems/" + code)
    assert body["title"]
    assert body["request_id"] == response.headers["X-Request-ID"]
    return body


def wait_for(condition, *, timeout: float, what: str):
    """Polls `condition` until it returns something truthy (returned), failing after `timeout`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    pytest.fail(f"gave up after {timeout}s waiting for {what}")


class PartnerStub:
    """A real HTTP server on 127.0.0.1 standing in for the shipping partner. `script` lists what
    to answer, call by call: a status code, or "hang" to answer 201 after `hang_seconds`; once used
    up, it answers `default` (201). Every call is kept in `calls` (headers, JSON body, answer)."""

    def __init__(self) -> None:
        stub = self
        self.script: list[int | str] = []
        self.default: int | str = 201
        self.calls: list[dict] = []
        self.hang_seconds = 1.0
        self.location: str | None = None  # sent with a 3xx answer

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                call = {"headers": dict(self.headers), "json": json.loads(self.rfile.read(length))}
                stub.calls.append(call)
                answer = stub.script.pop(0) if stub.script else stub.default
                if answer == "hang":
                    time.sleep(stub.hang_seconds)
                    answer = 201
                call["answer"] = int(answer)
                body = json.dumps({"id": 101, "answer": answer}).encode()
                self.send_response(int(answer))
                self.send_header("Content-Type", "application/json")
                if stub.location and 300 <= int(answer) < 400:
                    self.send_header("Location", stub.location)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                with contextlib.suppress(ConnectionError):  # the caller gave up waiting
                    self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/posts"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def other_session():
    """A second PostgreSQL session on the test database, beside Django's (a psycopg connection: use
    it as a context manager; it commits when the block ends)."""
    import psycopg

    params = connection.get_connection_params()
    return psycopg.connect(
        **{key: params[key] for key in ("dbname", "host", "port", "user", "password") if params.get(key)}
    )


def race(workers: list[Callable[[], object]]) -> list[object]:
    """Runs the callables at once (released by a barrier); returns each one's result or exception."""
    barrier = threading.Barrier(len(workers))
    results: list[object] = [None] * len(workers)

    def run(index: int, work: Callable[[], object]) -> None:
        try:
            barrier.wait()
            results[index] = work()
        except Exception as exc:
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, w)) for i, w in enumerate(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a worker is stuck (deadlock?)"
    return results


# An address as `AddressInput` takes it (every field: the copy an order keeps is compared with it).
ADDRESS = {
    "name": "Ada Lovelace",
    "line1": "12 St James's Square",
    "line2": "",
    "city": "London",
    "region": "",
    "postal_code": "SW1Y 4JH",
    "country": "GB",
    "phone": "+44 20 7946 0000",
}


def post_order(client, *lines, shipping_address=ADDRESS, **headers):
    """POST /api/orders/ with (product, quantity) lines, shipping to ADDRESS (None: no address)."""
    body = {"items": [{"product": product.pk, "quantity": quantity} for product, quantity in lines]}
    if shipping_address is not None:
        body["shipping_address"] = shipping_address
    return client.post("/api/orders/", body, **headers)


@contextlib.contextmanager
def captured_log_lines(formatter: logging.Formatter, *filters: logging.Filter):
    """What a console handler with this formatter and these filters prints while the block runs,
    at INFO and above, as a function returning the lines so far."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    for log_filter in filters:
        handler.addFilter(log_filter)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    previous = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield lambda: stream.getvalue().splitlines()
    finally:
        root.removeHandler(handler)
        root.setLevel(previous)


def work(order, kind: str):
    """The outbox entry of an order's work of `kind` (`invoice`, `order_confirmation`,
    `shipping_notice`), as the database has it now."""
    from shop.outbox.models import Entry

    return Entry.objects.get(kind=kind, object_id=getattr(order, "pk", order))


def do_work(order, kind: str):
    """Runs the order's outbox entry of `kind` once, in-process, as the worker would; returns
    the entry when this run settled or attempted it."""
    from shop.outbox.runner import run

    return run(work(order, kind).pk)


def statement(sql: str) -> str:
    """`INSERT orders_order`, `SELECT catalog_product FOR UPDATE`, `SAVEPOINT`: what a query does."""
    words = sql.replace('"', "").split()
    if words[0] == "WITH" and "INSERT" in words:  # a statement that inserts what its CTE prepared
        words = words[words.index("INSERT") :]
    verb = words[0]
    if verb == "SELECT":
        table = words[words.index("FROM") + 1]
        return f"SELECT {table}{' FOR UPDATE' if 'FOR UPDATE' in sql else ''}"
    if verb in ("INSERT", "DELETE"):
        return f"{verb} {words[2]}"
    if verb == "UPDATE":
        return f"UPDATE {words[1]}"
    return verb
