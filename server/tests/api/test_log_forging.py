"""Log forging: only the project's own `key=value` pairs become fields; a value from a request is
quoted where it is written, in both formats; gunicorn's refusals log the id the client got."""

import json
import logging
import socket

import pytest
from django.conf import settings

from shop.core.logs import KeyValueJsonFormatter, QuotedArguments, RequestId, key_value_pairs
from tests.helpers import captured_log_lines

FORGED = "/zz%20event=order_placed%20order_id=424242"


@pytest.fixture(params=["keyvalue", "json"])
def log_format(request):
    return request.param


@pytest.fixture
def log_lines(log_format):
    """What the console handler prints, with the project's filters and the chosen formatter."""
    config = settings.LOGGING["formatters"][log_format]
    if log_format == "json":
        formatter = KeyValueJsonFormatter(**{k: v for k, v in config.items() if k != "()"})
    else:
        formatter = logging.Formatter(config["format"])
    with captured_log_lines(formatter, RequestId(), QuotedArguments()) as lines:
        yield lines


def fields(line: str, log_format: str) -> dict:
    if log_format == "json":
        return json.loads(line)
    return key_value_pairs(line)


def test_a_forged_path_gives_no_field_in_either_format(anon, db, log_lines, log_format):
    assert anon.get(FORGED).status_code == 404
    lines = [line for line in log_lines() if "Not Found" in line]
    assert len(lines) == 1
    line = fields(lines[0], log_format)
    assert "event" not in line and "order_id" not in line
    message = json.loads(lines[0])["message"] if log_format == "json" else lines[0]
    assert message.endswith('Not Found": "/zz event=order_placed order_id=424242"')


def test_the_access_line_keeps_its_own_fields_and_quotes_the_path(anon, db, log_lines, log_format):
    anon.get("/api/products/zz%20event=forged%22x")
    [access] = [fields(line, log_format) for line in log_lines() if "event=request" in line]
    assert access["event"] == "request"
    assert access["status"] == "404"
    assert access["path"].startswith("/api/products/zz")


def test_our_own_messages_keep_their_fields(log_lines, log_format):
    logging.getLogger("shop.orders").info(
        'event=order_placed order_id=%s error="%s: %s" detail=%r', 7, "OperationalError", 'a "b"\nc', "x y"
    )
    [line] = log_lines()
    assert "\n" not in line
    parsed = fields(line, log_format)
    assert (parsed["event"], parsed["order_id"]) == ("order_placed", "7")
    assert parsed["error"] == 'OperationalError: a "b"\nc'


def test_other_libraries_messages_give_no_fields_in_json(log_lines, log_format):
    logging.getLogger("django.request").warning("event=%s", "forged")
    [line] = log_lines()
    if log_format == "json":
        assert "event" not in json.loads(line)


def test_it_quotes_once_whatever_the_number_of_handlers():
    record = logging.LogRecord(
        "django.request", logging.INFO, __file__, 1, "%s: %s", ("Not Found", "/a b"), None
    )
    for _ in range(3):
        QuotedArguments().filter(record)
    assert record.getMessage() == '"Not Found": "/a b"'


def test_a_message_whose_placeholders_do_not_pair_up_is_left_alone():
    record = logging.LogRecord("shop.x", logging.INFO, __file__, 1, "a=%s b=%s", ("only one",), None)
    QuotedArguments().filter(record)
    assert (record.msg, record.args) == ("a=%s b=%s", ("only one",))
    record = logging.LogRecord("shop.x", logging.INFO, __file__, 1, "100%% a=%s", ("x", "extra"), None)
    QuotedArguments().filter(record)
    assert record.args == ("x", "extra")


def test_gunicorn_refusals_log_the_id_the_client_got(log_lines, log_format):
    from config.gunicorn import write_problem

    server, client = socket.socketpair()
    with server, client:
        write_problem(server, 431, "Request Header Fields Too Large", "too many headers")
        answer = client.recv(65536).decode()
    header = next(line for line in answer.splitlines() if line.startswith("X-Request-ID:"))
    request_id = header.split(":", 1)[1].strip()
    [line] = log_lines()
    parsed = fields(line, log_format)
    assert parsed["request_id"] == request_id
    assert parsed["event"] == "refused_by_server"
