"""Password reset by e-mail through the outbox: the same answer and the same work for an address
with an account and one without, a token good once and for an hour, every earlier session ended,
and limits per client and per address."""

import re

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from shop.accounts.models import EmailRequest
from shop.outbox.models import Entry
from tests.helpers import assert_problem, statement

pytestmark = pytest.mark.django_db

LINK = re.compile(r"\(uid: ([A-Za-z0-9_-]+), token: ([A-Za-z0-9-]+)\)")
NEW = "ember-quartz-willow-4"


def ask(client, email: str, capture):
    with capture(execute=True):
        return client.post("/api/auth/password/reset/", {"email": email}, format="json")


def link_in(message) -> tuple[str, str]:
    [found] = LINK.findall(message.body)
    return found


def confirm(client, uid: str, token: str, password: str = NEW):
    return client.post(
        "/api/auth/password/reset/confirm/",
        {"uid": uid, "token": token, "new_password": password},
        format="json",
    )


def test_it_mails_a_link_and_the_link_sets_the_password_and_ends_every_session(
    anon, alice, django_capture_on_commit_callbacks, settings
):
    settings.PASSWORD_RESET_LINK = "https://front.example/reset?uid={uid}&token={token}"
    login = anon.post("/api/auth/login/", {"username": "alice", "password": "s3cret-Passw0rd"}, format="json")
    refresh = login.json()["refresh"]
    session = APIClient()
    session.credentials(HTTP_AUTHORIZATION=f"Bearer {login.json()['access']}")
    assert session.get("/api/auth/me/").status_code == 200
    answer = ask(anon, "ALICE@example.com", django_capture_on_commit_callbacks)
    assert answer.status_code == 202 and answer.content == b""
    [message] = mail.outbox
    assert message.to == ["alice@example.com"]
    uid, token = link_in(message)
    assert f"https://front.example/reset?uid={uid}&token={token}" in message.body
    with django_capture_on_commit_callbacks(execute=True):  # as the change commits: caches forget alice
        assert confirm(anon, uid, token).status_code == 204
    alice.refresh_from_db()
    assert alice.check_password(NEW)
    assert_problem(session.get("/api/auth/me/"), 401, "token_not_valid")  # the earlier session ended
    refreshed = anon.post("/api/auth/refresh/", {"refresh": refresh}, format="json")
    assert_problem(refreshed, 401, "token_not_valid")
    assert (
        anon.post("/api/auth/login/", {"username": "alice", "password": NEW}, format="json").status_code
        == 200
    )


def test_a_token_is_good_once_and_not_after_another_password_change(
    anon, alice, django_capture_on_commit_callbacks
):
    ask(anon, "alice@example.com", django_capture_on_commit_callbacks)
    ask(anon, "alice@example.com", django_capture_on_commit_callbacks)  # a second link, for the same account
    (uid, first), (_, second) = (link_in(m) for m in mail.outbox)
    assert confirm(anon, uid, first).status_code == 204
    again = assert_problem(confirm(anon, uid, first, "other-words-entirely-7"), 400, "validation_error")
    assert again["errors"] == [
        {
            "field": "token",
            "code": "invalid",
            "message": "This reset link is not valid any more: ask for a new one.",
        }
    ]
    assert_problem(
        confirm(anon, uid, second, "other-words-entirely-7"), 400, "validation_error"
    )  # the password changed


@pytest.mark.parametrize(
    ("uid", "token"),
    [("Mg", "cxkvzs-0000000000000000000000000000000"), ("zzzz", "abc-def"), ("_-_-", "x")],
)
def test_a_made_up_link_is_refused_as_invalid(anon, alice, uid, token):
    body = assert_problem(confirm(anon, uid, token), 400, "validation_error")
    assert [error["field"] for error in body["errors"]] == ["token"]


def test_another_accounts_token_does_not_open_this_one(anon, alice, bob, django_capture_on_commit_callbacks):
    ask(anon, "alice@example.com", django_capture_on_commit_callbacks)
    _, token = link_in(mail.outbox[0])
    from django.utils.encoding import force_bytes
    from django.utils.http import urlsafe_base64_encode

    bobs_uid = urlsafe_base64_encode(force_bytes(bob.pk))
    assert_problem(confirm(anon, bobs_uid, token), 400, "validation_error")
    bob.refresh_from_db()
    assert not bob.check_password(NEW)


def test_an_expired_token_is_refused(anon, alice, django_capture_on_commit_callbacks, settings):
    ask(anon, "alice@example.com", django_capture_on_commit_callbacks)
    uid, token = link_in(mail.outbox[0])
    settings.PASSWORD_RESET_TIMEOUT = -1  # an hour later
    assert_problem(confirm(anon, uid, token), 400, "validation_error")


def test_the_new_password_goes_through_the_validators(anon, alice, django_capture_on_commit_callbacks):
    ask(anon, "alice@example.com", django_capture_on_commit_callbacks)
    uid, token = link_in(mail.outbox[0])
    body = assert_problem(confirm(anon, uid, token, "12345678"), 400, "validation_error")
    assert {error["field"] for error in body["errors"]} == {"new_password"}
    assert {error["code"] for error in body["errors"]} == {"password_invalid"}
    assert confirm(anon, uid, token).status_code == 204  # a refused password did not use the token up


def test_an_address_without_an_account_gets_the_same_answer_after_the_same_work(
    anon, alice, django_capture_on_commit_callbacks
):
    """Timing, without a clock: both requests run the very same statements (the lookup of the
    account is the worker's), so nothing a client can measure tells them apart."""
    answers, statements = [], []
    for email in ("alice@example.com", "nobody@example.com"):
        with CaptureQueriesContext(connection) as queries:
            answers.append(ask(anon, email, django_capture_on_commit_callbacks))
        ours = [statement(q["sql"]) for q in queries.captured_queries]
        statements.append([s for s in ours if "outbox_entry FOR UPDATE" not in s][:4])
    assert [(a.status_code, a.content) for a in answers] == [(202, b""), (202, b"")]
    assert (
        statements[0]
        == statements[1]
        == [
            "SAVEPOINT",
            "INSERT accounts_emailrequest",
            "INSERT outbox_entry",
            "RELEASE",
        ]
    )
    assert len(mail.outbox) == 1  # only the account's owner hears of it
    kinds = Entry.objects.filter(kind="password_reset_email").order_by("pk").values_list("status", "error")
    assert list(kinds) == [("done", ""), ("skipped", "no active account uses this address")]


def test_it_is_limited_per_address_and_per_client(anon, alice, django_capture_on_commit_callbacks):
    """3 an hour per address (in any spelling), 5 a minute per client (the defaults)."""
    spellings = ["alice@example.com", "Alice@example.com", "ALICE@EXAMPLE.COM", "alice@example.com"]
    statuses = [ask(anon, email, django_capture_on_commit_callbacks).status_code for email in spellings]
    assert statuses == [202, 202, 202, 429]
    assert ask(anon, "bob@example.com", django_capture_on_commit_callbacks).status_code == 202
    assert_problem(ask(anon, "carol@example.com", django_capture_on_commit_callbacks), 429, "throttled")
    assert EmailRequest.objects.count() == 4


def test_beat_forgets_requests_older_than_a_day(anon, alice, django_capture_on_commit_callbacks):
    from datetime import timedelta

    from django.utils import timezone

    from shop.accounts.tasks import purge_email_requests_task

    ask(anon, "alice@example.com", django_capture_on_commit_callbacks)
    EmailRequest.objects.update(created_at=timezone.now() - timedelta(days=2))
    ask(anon, "alice@example.com", django_capture_on_commit_callbacks)
    assert purge_email_requests_task.apply().get() == 1
    assert EmailRequest.objects.count() == 1
