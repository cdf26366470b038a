"""Hostile bodies, queries and hosts: each is refused with a 4xx problem before any view runs,
and what the contract validated is exactly what the view would have parsed."""

import json
import logging
import sys

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import DisallowedHost

from shop.api.request_body import MAX_JSON_DEPTH
from tests.helpers import assert_problem

pytestmark = pytest.mark.django_db

REGISTER = "/api/auth/register/"


def register_body(username: str) -> dict:
    return {"username": username, "email": f"{username}@example.com", "password": "s3cret-Passw0rd"}


def post_raw(client, path: str, body: bytes, content_type: str):
    return client.generic("POST", path, body, content_type=content_type)


def test_it_refuses_utf7_which_would_smuggle_markup_past_the_schema(anon):
    # As UTF-8 this is the harmless "gq+ADw-b+AD4-y"; decoded as UTF-7 it is "gq<b>y".
    body = json.dumps(register_body("gq+ADw-b+AD4-y")).encode()
    response = post_raw(anon, REGISTER, body, "application/json; charset=utf-7")
    assert_problem(response, 415, "unsupported_media_type")
    assert not get_user_model().objects.exists()


@pytest.mark.parametrize("charset", ["utf-16", "UTF-16LE", "latin-1", "iso-8859-1", "utf-8-sig", "no-such"])
def test_it_refuses_every_charset_but_utf8(anon, charset):
    body = json.dumps(register_body("mallory")).encode()
    assert_problem(
        post_raw(anon, REGISTER, body, f"application/json; charset={charset}"), 415, "unsupported_media_type"
    )
    assert not get_user_model().objects.exists()


@pytest.mark.parametrize("charset", ["utf-8", "UTF-8", "utf8", '"utf-8"'])
def test_it_accepts_utf8_however_it_is_spelled(anon, charset):
    body = json.dumps(register_body("carol")).encode()
    assert post_raw(anon, REGISTER, body, f"application/json; charset={charset}").status_code == 201


@pytest.mark.parametrize(
    "body",
    [
        b"\xef\xbb\xbf" + json.dumps(register_body("carol")).encode(),  # a UTF-8 byte-order mark
        json.dumps(register_body("carol")).encode("utf-16"),
        json.dumps(register_body("carol")).encode("utf-32-le"),
    ],
    ids=["utf8-bom", "utf16-undeclared", "utf32-undeclared"],
)
def test_it_refuses_bodies_that_are_not_plain_utf8(anon, body):
    assert_problem(post_raw(anon, REGISTER, body, "application/json"), 400, "parse_error")
    assert not get_user_model().objects.exists()


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 100, 970, 10_000, 100_000])
def test_it_refuses_deep_nesting_with_a_problem(anon, depth):
    body = b"[" * depth + b"]" * depth
    response = post_raw(anon, "/api/auth/refresh/", body, "application/json")
    assert_problem(response, 400, "parse_error")


def test_it_lets_nesting_within_the_limit_reach_schema_validation(anon):
    body = b'{"refresh": ' + b"[" * (MAX_JSON_DEPTH - 1) + b"]" * (MAX_JSON_DEPTH - 1) + b"}"
    assert_problem(post_raw(anon, "/api/auth/refresh/", body, "application/json"), 400, "validation_error")


def test_it_does_not_mistake_brackets_in_strings_for_nesting(anon, alice):
    body = json.dumps({"username": "[" * 100, "password": "{" * 100}).encode()
    assert_problem(post_raw(anon, "/api/auth/login/", body, "application/json"), 401, "authentication_failed")


def test_it_answers_413_for_a_body_over_the_limit(anon, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    body = json.dumps({"refresh": "x" * 1000}).encode()
    assert_problem(post_raw(anon, "/api/auth/refresh/", body, "application/json"), 413, "payload_too_large")


def test_it_accepts_a_body_at_the_limit(anon, settings):
    body = json.dumps({"refresh": "x" * 100}).encode()
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = len(body)
    assert_problem(post_raw(anon, "/api/auth/refresh/", body, "application/json"), 401, "token_not_valid")


def test_it_refuses_thousands_of_query_parameters(client_for, alice):
    query = "&".join(f"p{i}=1" for i in range(1001))
    assert_problem(client_for(alice).get(f"/api/products/?{query}"), 400, "too_many_parameters")


def test_it_answers_a_disallowed_host_with_a_problem(anon):
    assert_problem(anon.get("/api/products/", HTTP_HOST="evil.example"), 400, "bad_request")


def test_django_refusals_outside_the_api_are_problems_too(anon, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10
    response = anon.generic(
        "POST", "/admin/login/", "username=" + "x" * 100, content_type="application/x-www-form-urlencoded"
    )
    assert_problem(response, 413, "payload_too_large")


def _console_line(logger_name: str) -> str:
    """What the configured console handler prints for an ERROR with a traceback on that logger."""
    [handler] = [h for h in logging.getLogger().handlers if h.filters]
    try:
        raise DisallowedHost("Invalid HTTP_HOST header: 'evil.example'.")
    except DisallowedHost:
        record = logging.getLogger(logger_name).makeRecord(
            logger_name, logging.ERROR, __file__, 1, "refused", (), sys.exc_info()
        )
    assert handler.filter(record)
    return handler.format(record)


def test_refused_requests_are_logged_on_one_line_without_a_traceback():
    line = _console_line("django.security.DisallowedHost")
    assert line.endswith("logger=django.security.DisallowedHost request_id=- refused")
    assert "Traceback" not in line


def test_other_errors_keep_their_traceback():
    assert "Traceback" in _console_line("django.request")
