"""The outbox knows no order: an e-mail about a user (a kind registered by the test alone; the
product's own is the password reset, tests/accounts/test_password_reset.py) is owed, published,
retried after a mail-server failure, sent once, requeued by staff, and counted by kind."""

import smtplib

import pytest
from django.contrib.auth.tokens import default_token_generator
from django.core import mail
from django.core.mail import EmailMessage
from django.db import IntegrityError, transaction
from django.utils import timezone

from shop.accounts.models import User
from shop.outbox.kinds import Kind, Outcome
from shop.outbox.models import Entry
from shop.outbox.publish import owe, publish_on_commit
from shop.outbox.requeue import requeue_failed

pytestmark = pytest.mark.django_db


def send_reset_link(entry: Entry) -> Outcome:
    """What a password-reset kind's run looks like: the link is made when the e-mail is sent."""
    user = User.objects.get(pk=entry.object_id)
    token = default_token_generator.make_token(user)
    EmailMessage(
        subject="Reset your password",
        body=f"https://shop.example/reset/{user.pk}/{token}",
        to=[user.email],
    ).send()
    return Outcome()


@pytest.fixture
def reset_kind(register_kind, settings):
    settings.RESET_MAX_RETRIES, settings.RESET_RETRY_BACKOFF = 2, 0.01
    return register_kind(Kind("reset_style_email", run=send_reset_link, settings_prefix="RESET"))


def owe_reset(user, capture) -> Entry:
    with capture(execute=True):
        entry = owe("reset_style_email", user.pk)
        publish_on_commit(entry)
    entry.refresh_from_db()
    return entry


def test_it_sends_an_email_about_a_user_through_the_outbox(
    reset_kind, alice, django_capture_on_commit_callbacks
):
    entry = owe_reset(alice, django_capture_on_commit_callbacks)
    assert (entry.status, entry.attempts) == ("done", 1)
    [message] = mail.outbox
    assert message.to == ["alice@example.com"]
    token = message.body.rsplit("/", 1)[1]
    assert default_token_generator.check_token(alice, token)


def test_a_mail_server_failure_is_an_attempt_and_the_retry_sends_once(
    reset_kind, alice, monkeypatch, django_capture_on_commit_callbacks
):
    real_send, failures = EmailMessage.send, []

    def send_once_failing(message, *args, **kwargs):
        if not failures:
            failures.append(message)
            raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")
        return real_send(message, *args, **kwargs)

    monkeypatch.setattr(EmailMessage, "send", send_once_failing)
    entry = owe_reset(alice, django_capture_on_commit_callbacks)  # in-process: the retry runs at once
    assert (entry.status, entry.attempts) == ("done", 2)
    assert len(mail.outbox) == 1


def test_a_failed_one_is_requeued_and_the_same_work_is_never_pending_twice(
    reset_kind, alice, monkeypatch, django_capture_on_commit_callbacks
):
    real_send, down = EmailMessage.send, [True]

    def send_unless_down(message, *args, **kwargs):
        if down:
            raise OSError("down")
        return real_send(message, *args, **kwargs)

    monkeypatch.setattr(EmailMessage, "send", send_unless_down)
    entry = owe_reset(alice, django_capture_on_commit_callbacks)
    assert (entry.status, entry.attempts, entry.error) == ("failed", 3, "OSError: down")
    with pytest.raises(IntegrityError), transaction.atomic():
        owe("reset_style_email", alice.pk)  # the failed one is not pending: this one is owed...
        owe("reset_style_email", alice.pk)  # ...but not twice while it waits
    down.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert requeue_failed(kinds=["reset_style_email"]) == {"reset_style_email": 1}
    entry.refresh_from_db()
    assert (entry.status, entry.requeues) == ("done", 1) and len(mail.outbox) == 1
    assert entry.settled_at <= timezone.now()


def test_an_unknown_kind_is_refused_where_it_is_owed(alice):
    with pytest.raises(LookupError, match="no outbox kind 'reset_style_email'"):
        owe("reset_style_email", alice.pk)


def test_the_metrics_count_every_registered_kind(reset_kind, alice, settings):
    from prometheus_client import CollectorRegistry, generate_latest

    from shop.outbox.metrics import OutboxCollector

    owe("reset_style_email", alice.pk)
    registry = CollectorRegistry()
    registry.register(OutboxCollector())
    text = generate_latest(registry).decode()
    assert 'shop_outbox_rows{kind="reset_style_email",state="pending"} 1.0' in text
    assert 'shop_outbox_rows{kind="invoice",state="failed"} 0.0' in text
