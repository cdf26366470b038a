"""The storefront (contract_tests/storefront/, built on the generated TypeScript client) driven in
headless Chromium (Debian's, through Playwright) against the live stack, from another origin
(127.0.0.1:4173, the stack's CORS_ALLOWED_ORIGINS): every call the page makes is a cross-origin
call that the browser lets through only because the API's CORS answers allow it.

`STOREFRONT_SCREENSHOT=docs/storefront.png` saves the README's picture of the page."""

from __future__ import annotations

import functools
import os
import shutil
import threading
from contextlib import contextmanager
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests

from contract_tests.node_tools import build_storefront
from contract_tests.stack import CUSTOMERS, FRONT_END, free_port

CHROMIUM = "/usr/bin/chromium"


@contextmanager
def served(folder: Path, origin: str):
    handler = functools.partial(QuietHandler, directory=str(folder))
    parts = urlsplit(origin)
    server = ThreadingHTTPServer((parts.hostname, parts.port), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield origin
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def built():
    return build_storefront()


@pytest.fixture
def storefront(built):
    """The built storefront served on FRONT_END, as `make demo-ui` serves it."""
    with served(built, FRONT_END) as origin:
        yield origin


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def browser_page():
    if shutil.which(CHROMIUM) is None:
        pytest.fail(f"{CHROMIUM} is missing: .ci/run installs Debian's chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1100, "height": 1000}, accept_downloads=True)
        page.failed = []
        page.on("requestfailed", lambda request: page.failed.append(request.url))
        page.on("pageerror", lambda error: page.failed.append(str(error)))
        try:
            yield page
        finally:
            browser.close()


def stock_shown(page, rows, units: str) -> None:
    """The catalog page shows `units` in stock once filtered again: a cached list page shows stock
    moved by orders within PRODUCT_LIST_STOCK_LAG (1 s)."""
    from playwright.sync_api import expect

    cell = rows.first.locator("td").nth(2)
    for _ in range(20):
        if cell.inner_text() == units:
            break
        page.wait_for_timeout(250)
        page.click("#filters button")
    expect(cell).to_have_text(units)


def test_a_customer_shops_in_a_browser_on_another_origin(stack, storefront, browser_page, tmp_path):
    from playwright.sync_api import expect

    page = browser_page
    admin = stack.auth("admin")
    product = requests.post(
        stack.url("/api/products/"),
        json={"name": "Storefront lamp", "price": "24.50", "stock": 7, "category": "home"},
        headers=admin,
        timeout=10,
    ).json()
    requests.post(
        stack.url("/api/products/"),
        json={"name": "Storefront novel", "price": "12.00", "stock": 3, "category": "books"},
        headers=admin,
        timeout=10,
    )
    username, password = CUSTOMERS[1]
    page.goto(f"{storefront}/?api={stack.base_url}")

    # log in: a preflighted POST from 4173 to the API's origin
    page.fill("#login [name=username]", username)
    page.fill("#login [name=password]", password)
    page.click("#login button")
    expect(page.locator("#who")).to_have_text(f"Logged in as {username}")
    expect(page.locator("#login")).to_be_hidden()

    # filter the catalog: only the home lamp is left of the two
    page.select_option("#filters [name=category]", "home")
    page.fill("#filters [name=search]", "Storefront")
    page.click("#filters button")
    rows = page.locator("#products tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Storefront lamp")

    # place an order with a shipping address
    rows.first.locator("input").fill("2")
    for name, value in {
        "name": "Bob Example",
        "line1": "Hauptstraße 5",
        "city": "Berlin",
        "postal_code": "10115",
        "country": "de",
    }.items():
        page.fill(f"#order [name={name}]", value)
    page.click("#order button")
    expect(page.locator("#message")).to_contain_text("placed (201): 49.00 EUR")
    detail = page.locator("#order-detail")
    expect(detail).to_contain_text("Ships to Bob Example, Hauptstraße 5, 10115 Berlin, DE")
    expect(detail.locator(".status")).to_have_text("pending")
    order_id = int(detail.get_attribute("data-order"))
    expect(page.locator(f"#orders li[data-order='{order_id}']")).to_contain_text("pending")
    stock_shown(page, rows, "5")  # 7 - 2

    # the invoice, once the worker wrote it: downloaded through the API with the bearer token
    invoice_ready = page.locator("#download-invoice")
    for _ in range(60):
        if invoice_ready.count():
            break
        page.locator("#order-detail button", has_text="Refresh").click()
        page.wait_for_timeout(500)
    with page.expect_download() as download:
        invoice_ready.click()
    saved = tmp_path / "invoice.pdf"
    download.value.save_as(saved)
    assert saved.read_bytes().startswith(b"%PDF")
    assert download.value.suggested_filename == f"invoice-order-{order_id}.pdf"

    if os.environ.get("STOREFRONT_SCREENSHOT"):
        page.screenshot(path=Path(os.environ["STOREFRONT_SCREENSHOT"]), full_page=True)

    # cancel it while it is pending: its history says so, the stock comes back
    page.click("#cancel-order")
    expect(detail.locator(".status")).to_have_text("cancelled")
    expect(page.locator("#history li")).to_have_count(2)
    expect(page.locator("#history li").last).to_contain_text("pending → cancelled")
    stock_shown(page, rows, "7")
    order = requests.get(stack.url(f"/api/orders/{order_id}/"), headers=admin, timeout=10).json()
    assert order["status"] == "cancelled" and order["shipping_address"]["country"] == "DE"
    assert (
        requests.get(stack.url(f"/api/products/{product['id']}/"), headers=admin, timeout=10).json()["stock"]
        == 7
    )

    # log out: the refresh token is revoked, the page is back at the login form
    page.click("#logout")
    expect(page.locator("#login")).to_be_visible()
    expect(page.locator("#message")).to_have_text("Logged out.")
    assert page.failed == [], f"requests the browser refused or errors on the page: {page.failed}"


def test_a_page_on_an_origin_the_api_does_not_allow_can_read_nothing(stack, built, browser_page):
    """The control: the same page from another port is refused by the browser at the first call
    (the preflight answers no Access-Control-Allow-Origin), so the test above passes because of
    CORS_ALLOWED_ORIGINS and not in spite of it."""
    page = browser_page
    with served(built, f"http://127.0.0.1:{free_port()}") as origin:
        page.goto(f"{origin}/?api={stack.base_url}")
        page.fill("#login [name=username]", CUSTOMERS[0][0])
        page.fill("#login [name=password]", CUSTOMERS[0][1])
        page.click("#login button")
        page.wait_for_timeout(1000)
        assert page.locator("#login").is_visible() and page.locator("#who").inner_text() == ""
    assert any(url.endswith("/api/auth/login/") for url in page.failed), page.failed
