"""The order-confirmation e-mail (the outbox's `order_confirmation` kind): sent once, with the
invoice attached, after the invoice; failures recorded and bounded."""

import pytest
from django.core import mail

from shop.outbox.tasks import run_entry_task
from tests.helpers import do_work, work

pytestmark = pytest.mark.django_db


@pytest.fixture
def alices_order(place, alice, make_product):
    return place(alice, (make_product("Mug", price="9.90", stock=5), 2))


def test_it_is_owed_with_the_order_after_its_invoice(alices_order):
    email = work(alices_order, "order_confirmation")
    assert (email.status, email.after_id) == ("pending", work(alices_order, "invoice").pk)


def test_it_sends_once_with_the_invoice_attached(alices_order, settings):
    settings.SHOP_NAME = "Acme"
    do_work(alices_order, "invoice")
    do_work(alices_order, "order_confirmation")
    assert do_work(alices_order, "order_confirmation") is None  # a retried or duplicated task
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["alice@example.com"]
    assert message.subject == f"Acme: order #{alices_order.pk} confirmed"
    assert "19.80" in message.body
    ((name, content, mimetype),) = message.attachments
    assert (name, mimetype) == (f"invoice-order-{alices_order.pk}.pdf", "application/pdf")
    assert content.startswith(b"%PDF")
    assert (
        "It will ship to:\n\n    Ada Lovelace\n    12 St James's Square\n    SW1Y 4JH London\n"
        in message.body
    )
    assert "United Kingdom" in message.body
    email = work(alices_order, "order_confirmation")
    assert (email.status, email.attempts) == ("done", 1)
    assert email.settled_at is not None


def test_without_a_shipping_address_it_says_one_is_needed(place, alice, make_product):
    order = place(alice, (make_product("Mug", stock=5), 1), shipping_address=None)
    do_work(order, "invoice")
    do_work(order, "order_confirmation")
    assert "no shipping address yet" in mail.outbox[0].body


def test_it_waits_for_the_invoice(alices_order):
    assert do_work(alices_order, "order_confirmation") is None
    assert mail.outbox == [] and work(alices_order, "order_confirmation").attempts == 0


def test_a_failing_mail_server_is_recorded_retried_then_marked_failed(alices_order, monkeypatch, settings):
    do_work(alices_order, "invoice")
    calls = []

    def refuse(self, *args, **kwargs):
        calls.append(1)
        raise ConnectionRefusedError("smtp down")

    monkeypatch.setattr("django.core.mail.EmailMessage.send", refuse)
    result = run_entry_task.apply(kwargs={"entry_id": work(alices_order, "order_confirmation").pk})
    assert result.successful()  # the last attempt settles the entry as failed: nothing left to retry
    email = work(alices_order, "order_confirmation")
    assert email.status == "failed"
    assert email.error == "ConnectionRefusedError: smtp down"
    assert len(calls) == email.attempts == settings.EMAIL_MAX_RETRIES + 1
