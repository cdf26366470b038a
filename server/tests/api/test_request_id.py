"""X-Request-ID: echoed when safe, generated otherwise, in every problem body and every log line."""

import json
import logging
import re

import pytest
from django.conf import settings

from shop.core.logs import KeyValueJsonFormatter, RequestId
from shop.orders.models import Order
from tests.helpers import assert_problem, captured_log_lines, post_order

GENERATED = re.compile(r"[0-9a-f]{32}")


@pytest.fixture
def log_lines():
    """What the console handler would print (the project's formatter and filters), as a list."""
    formatter = logging.Formatter(settings.LOGGING["formatters"]["keyvalue"]["format"])
    with captured_log_lines(formatter, RequestId()) as lines:
        yield lines


def test_a_request_without_an_id_gets_a_generated_one(anon, db):
    response = anon.get("/healthz")
    assert GENERATED.fullmatch(response.headers["X-Request-ID"])
    assert anon.get("/healthz").headers["X-Request-ID"] != response.headers["X-Request-ID"]


@pytest.mark.parametrize("given", ["a", "req-2026-11-28T07:59:10.123_ab", "7f" * 64])
def test_a_safe_id_is_echoed(anon, db, given):
    assert anon.get("/healthz", HTTP_X_REQUEST_ID=given).headers["X-Request-ID"] == given


@pytest.mark.parametrize(
    "given",
    ["", "two words", 'quote"d', "key=value", "a" * 129, "line\nbreak", "ümlaut", "semi;colon"],
)
def test_an_unsafe_id_is_replaced_not_refused(anon, db, given):
    response = anon.get("/api/products/", HTTP_X_REQUEST_ID=given)
    body = assert_problem(response, 401, "not_authenticated")  # answered as without the header
    assert GENERATED.fullmatch(response.headers["X-Request-ID"])
    assert body["request_id"] == response.headers["X-Request-ID"]


def test_a_problem_names_the_request(client_for, alice):
    response = client_for(alice).get("/api/products/?page_size=abc", HTTP_X_REQUEST_ID="support-ticket-42")
    body = assert_problem(response, 400, "validation_error")
    assert body["request_id"] == "support-ticket-42"


@pytest.mark.django_db(transaction=True)  # the tasks run in-process at the commit, as in `make run`
def test_every_log_line_of_the_request_carries_its_id(client_for, alice, make_product, log_lines):
    lamp = make_product(name="Lamp", stock=5)
    response = post_order(client_for(alice), (lamp, 1), HTTP_X_REQUEST_ID="trace-order-1")
    assert response.status_code == 201
    order_id = Order.objects.get().pk
    ours = [line for line in log_lines() if f"object_id={order_id}" in line or f"order_id={order_id}" in line]
    # the invoice's and the e-mail's task_started, invoice_rendered, email_sent, task_succeeded
    assert len(ours) >= 6, log_lines()
    assert all("request_id=trace-order-1 " in line for line in ours)


def test_djangos_own_line_for_a_refused_request_names_it_too(anon, db, log_lines):
    anon.get("/api/auth/me/", HTTP_X_REQUEST_ID="trace-401")
    [line] = [line for line in log_lines() if "logger=django.request" in line]
    assert "request_id=trace-401 Unauthorized: /api/auth/me/" in line


def test_outside_a_request_the_id_is_a_dash(log_lines):
    logging.getLogger("shop.test").warning("event=outside")
    assert log_lines() == [line for line in log_lines() if "request_id=- event=outside" in line]
    assert len(log_lines()) == 1


def test_json_lines_carry_the_id_and_the_key_value_pairs_as_fields():
    formatter = KeyValueJsonFormatter(
        **{k: v for k, v in settings.LOGGING["formatters"]["json"].items() if k != "()"}
    )
    record = logging.LogRecord(
        "shop.orders", logging.INFO, __file__, 1, 'event=order_placed order_id=7 reason="a b=c"', (), None
    )
    RequestId().filter(record)
    line = json.loads(formatter.format(record))
    assert line["level"] == "INFO"
    assert line["logger"] == "shop.orders"
    assert line["request_id"] == "-"
    assert (line["event"], line["order_id"], line["reason"]) == ("order_placed", "7", "a b=c")
    assert line["message"].startswith("event=order_placed")
    assert "ts" in line
