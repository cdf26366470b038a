"""The live stack itself: served by gunicorn with production settings, tasks done by the worker."""

import contextlib
import os
import time
from pathlib import Path

import requests


def test_it_serves_with_production_settings_and_a_worker(stack):
    ready = requests.get(stack.url("/readyz"), timeout=5).json()
    assert ready == {"status": "ok", "checks": {"database": "ok", "cache": "ok", "broker": "ok"}}
    docs = requests.get(stack.url("/api/docs/"), timeout=5)
    assert docs.status_code == 200 and "swagger-ui" in docs.text
    products = requests.post(
        stack.url("/api/products/"),
        json={"name": "Stack mug", "price": "12.00", "stock": 5, "category": "home"},
        headers=stack.auth("admin"),
        timeout=5,
    )
    assert products.status_code == 201
    order = requests.post(
        stack.url("/api/orders/"),
        json={"items": [{"product": products.json()["id"], "quantity": 1}]},
        headers=stack.auth("alice"),
        timeout=5,
    ).json()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        body = requests.get(
            stack.url(f"/api/orders/{order['id']}/"), headers=stack.auth("alice"), timeout=5
        ).json()
        if body["report_url"]:
            break
        time.sleep(0.5)
    pdf = requests.get(stack.url(body["report_url"]), headers=stack.auth("alice"), timeout=5)
    assert pdf.headers["Content-Type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    log = stack.log("worker")
    assert "event=task_succeeded task=shop.outbox.tasks.drain" in log
    assert "event=outbox_run kind=invoice entry_id=" in log and f"object_id={order['id']} outcome=done" in log


def test_a_browser_on_the_allowed_origin_may_call_it_and_no_other(stack):
    """CORS through gunicorn: the configured front-end's preflight and answers carry the headers a
    browser needs; another origin's get none, so its page can read nothing."""
    from contract_tests.stack import FRONT_END

    def ask(origin: str) -> requests.Response:
        return requests.options(
            stack.url("/api/orders/"),
            headers={
                "Origin": origin,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "authorization, content-type, idempotency-key",
            },
            timeout=10,
        )

    allowed = ask(FRONT_END)
    assert allowed.status_code == 200 and allowed.headers["Access-Control-Allow-Origin"] == FRONT_END
    assert "idempotency-key" in allowed.headers["Access-Control-Allow-Headers"]
    read = requests.get(
        stack.url("/api/products/"), headers={**stack.auth("alice"), "Origin": FRONT_END}, timeout=10
    )
    assert read.headers["Access-Control-Allow-Origin"] == FRONT_END
    assert "ETag" in read.headers["Access-Control-Expose-Headers"]
    for origin in ("https://evil.example", "null"):
        refused = ask(origin)
        assert not [name for name in refused.headers if name.lower().startswith("access-control-")]


def _sockets(port: int, state: str) -> set[int]:
    """The inodes of the TCP sockets on `port` in `state` (/proc/net/tcp's hex: 0A listening,
    01 established)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == state:
                inodes.add(int(fields[9]))
    return inodes


def _held(pid: int, inodes: set[int]) -> set[int]:
    held = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        with contextlib.suppress(OSError):  # closed while we looked
            target = os.readlink(fd)
            if target.startswith("socket:[") and int(target[8:-1]) in inodes:
                held.add(int(target[8:-1]))
    return held


def test_each_web_worker_accepts_from_a_socket_of_its_own(stack):
    """config/gunicorn.py's `reuse_port`: each gunicorn worker listens on its own socket and the
    kernel spreads new connections over them. (On one shared socket a worker could hold every
    connection of a flash sale while the other stood idle.)"""
    port = int(stack.base_url.rsplit(":", 1)[1])
    arbiter = stack.processes["web"].pid  # server/bin/web execs gunicorn
    workers = [int(pid) for pid in Path(f"/proc/{arbiter}/task/{arbiter}/children").read_text().split()]
    assert len(workers) == int(stack.env["WEB_WORKERS"]) == 2
    listening = _sockets(port, "0A")
    own = [_held(pid, listening) for pid in workers]
    assert all(len(sockets) == 1 for sockets in own) and own[0] != own[1]
    assert not _held(arbiter, listening)  # the arbiter accepts nothing itself

    sessions = [requests.Session() for _ in range(32)]  # 32 connections kept open
    for session in sessions:
        assert session.get(stack.url("/healthz"), timeout=5).status_code == 200
    established = _sockets(port, "01")
    held = [len(_held(pid, established)) for pid in workers]
    assert sum(held) >= 32 and min(held) >= 4, held  # fewer than 4 on one: 3 chances in a million
    for session in sessions:
        session.close()
