"""E-mail verification (ACCOUNT_EMAIL_VERIFICATION): a link at registration through the outbox, a
signed token for the account's address that expires, an anonymous resend that does the same work
for any address, and login refused until confirmed when it is mandatory."""

import re

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework_simplejwt.token_blacklist.models import OutstandingToken

from shop.accounts.email_verification import make_token
from shop.outbox.models import Entry
from tests.helpers import assert_problem, statement

pytestmark = pytest.mark.django_db

TOKEN = re.compile(r"\(token: ([A-Za-z0-9_:-]+)\)")
DANA = {"username": "dana", "email": "dana@example.com", "password": "correct-horse-battery"}


def register(client, capture, **fields):
    with capture(execute=True):
        return client.post("/api/auth/register/", {**DANA, **fields}, format="json")


def token_in(message) -> str:
    [found] = TOKEN.findall(message.body)
    return found


def verify(client, token: str):
    return client.post("/api/auth/email/verify/", {"token": token}, format="json")


def resend(client, email: str, capture):
    with capture(execute=True):
        return client.post("/api/auth/email/verify/resend/", {"email": email}, format="json")


def login(client, username="dana", password=DANA["password"]):
    return client.post("/api/auth/login/", {"username": username, "password": password}, format="json")


def me(client, tokens) -> dict:
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    return client.get("/api/auth/me/").json()


def test_registration_mails_a_link_that_confirms_the_address_once(
    anon, django_capture_on_commit_callbacks, settings
):
    settings.EMAIL_VERIFICATION_LINK = "https://front.example/verify?token={token}"
    created = register(anon, django_capture_on_commit_callbacks)
    assert created.status_code == 201 and created.json()["email_verified"] is False
    [message] = mail.outbox
    assert message.to == ["dana@example.com"] and "confirm your e-mail address" in message.subject
    token = token_in(message)
    assert f"https://front.example/verify?token={token}" in message.body
    tokens = login(anon).json()  # optional: dana logs in before confirming
    with django_capture_on_commit_callbacks(execute=True):  # the user's cached row is forgotten
        assert verify(anon, token).status_code == 204
    assert me(anon, tokens)["email_verified"] is True
    assert verify(anon, token).status_code == 204  # confirmed already: nothing changes


@pytest.mark.parametrize("tamper", ["flip", "expired", "other_address", "other_salt"])
def test_a_token_that_is_not_the_accounts_is_refused(anon, alice, settings, tamper):
    token = make_token(alice)
    if tamper == "flip":
        token = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    elif tamper == "expired":
        settings.EMAIL_VERIFICATION_TIMEOUT = -1
    elif tamper == "other_address":
        alice.email = "alice.new@example.com"
        alice.save()
    else:
        from django.core import signing

        token = signing.dumps({"user": alice.pk, "email": alice.email}, salt="another.purpose")
    problem = assert_problem(verify(anon, token), 400, "validation_error")
    assert [(e["field"], e["code"]) for e in problem["errors"]] == [("token", "invalid")]
    alice.refresh_from_db()
    assert not alice.email_verified


def test_with_none_no_email_is_owed(anon, django_capture_on_commit_callbacks, settings):
    settings.ACCOUNT_EMAIL_VERIFICATION = "none"
    assert register(anon, django_capture_on_commit_callbacks).status_code == 201
    assert mail.outbox == [] and not Entry.objects.filter(kind="email_verification").exists()


def test_mandatory_refuses_login_until_confirmed_and_issues_no_token(
    anon, django_capture_on_commit_callbacks, settings
):
    settings.ACCOUNT_EMAIL_VERIFICATION = "mandatory"
    register(anon, django_capture_on_commit_callbacks)
    refused = assert_problem(login(anon), 403, "email_not_verified")
    assert "Confirm your e-mail address" in refused["detail"]
    assert not OutstandingToken.objects.exists()
    assert_problem(login(anon, password="wrong-password-1"), 401, "authentication_failed")  # no hint
    with django_capture_on_commit_callbacks(execute=True):
        verify(anon, token_in(mail.outbox[0]))
    assert login(anon).status_code == 200


def test_a_resend_does_the_same_work_for_any_address_and_mails_only_the_unconfirmed(
    anon, alice, bob, django_capture_on_commit_callbacks
):
    bob.email_verified_at = bob.date_joined
    bob.save()
    statements = []
    for email in ("alice@example.com", "nobody@example.com", "bob@example.com"):
        with CaptureQueriesContext(connection) as queries:
            answer = resend(anon, email, django_capture_on_commit_callbacks)
        assert (answer.status_code, answer.content) == (202, b"")
        ours = [statement(q["sql"]) for q in queries.captured_queries]
        statements.append([s for s in ours if "outbox_entry FOR UPDATE" not in s][:4])
    assert (
        statements[0]
        == statements[1]
        == statements[2]
        == [
            "SAVEPOINT",
            "INSERT accounts_emailrequest",
            "INSERT outbox_entry",
            "RELEASE",
        ]
    )
    assert [m.to for m in mail.outbox] == [["alice@example.com"]]
    outcomes = sorted(Entry.objects.filter(kind="email_verification").values_list("status", "error"))
    assert outcomes == [
        ("done", ""),
        ("skipped", "no active account uses this address"),
        ("skipped", "the address is confirmed already"),
    ]


def test_resends_are_limited_per_address(anon, alice, django_capture_on_commit_callbacks):
    answers = [resend(anon, "alice@example.com", django_capture_on_commit_callbacks) for _ in range(4)]
    assert [a.status_code for a in answers[:3]] == [202, 202, 202]
    assert_problem(answers[3], 429, "throttled")
