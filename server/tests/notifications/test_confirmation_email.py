"""The order-confirmation e-mail: sent once, with the invoice attached, failures recorded."""

import pytest
from django.core import mail

from shop.invoices.services import generate_invoice
from shop.notifications.models import EmailNotification, EmailStatus
from shop.notifications.services import InvoiceNotReady, send_order_confirmation
from shop.notifications.tasks import send_order_confirmation_task

pytestmark = pytest.mark.django_db


@pytest.fixture
def alices_order(place, alice, make_product):
    return place(alice, (make_product("Mug", price="9.90", stock=5), 2))


def test_it_records_the_email_with_the_order(alices_order):
    notification = EmailNotification.objects.get(order=alices_order)
    assert notification.status == EmailStatus.PENDING
    assert notification.recipient == "alice@example.com"
    assert f"order #{alices_order.pk}" in notification.subject


def test_it_sends_once_with_the_invoice_attached(alices_order):
    generate_invoice(order_id=alices_order.pk)
    send_order_confirmation(order_id=alices_order.pk)
    send_order_confirmation(order_id=alices_order.pk)  # a retried or duplicated task
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["alice@example.com"]
    assert "19.80" in message.body
    ((name, content, mimetype),) = message.attachments
    assert (name, mimetype) == (f"invoice-order-{alices_order.pk}.pdf", "application/pdf")
    assert content.startswith(b"%PDF")
    notification = EmailNotification.objects.get(order=alices_order)
    assert (notification.status, notification.attempts) == (EmailStatus.SENT, 1)
    assert notification.sent_at is not None


def test_it_waits_for_the_invoice(alices_order):
    with pytest.raises(InvoiceNotReady):
        send_order_confirmation(order_id=alices_order.pk)
    assert mail.outbox == []


def test_a_failing_mail_server_is_recorded_retried_then_marked_failed(alices_order, monkeypatch, settings):
    generate_invoice(order_id=alices_order.pk)
    calls = []

    def refuse(self, *args, **kwargs):
        calls.append(1)
        raise ConnectionRefusedError("smtp down")

    monkeypatch.setattr("django.core.mail.EmailMessage.send", refuse)
    monkeypatch.setattr(send_order_confirmation_task, "retry", _eager_retry(send_order_confirmation_task))
    result = send_order_confirmation_task.apply(kwargs={"order_id": alices_order.pk})
    assert result.failed()
    notification = EmailNotification.objects.get(order=alices_order)
    assert notification.status == EmailStatus.FAILED
    assert "smtp down" in notification.error
    assert len(calls) == notification.attempts == settings.EMAIL_MAX_RETRIES + 1


def _eager_retry(task):
    """The task's own retry, minus the countdown (tests wait no real time)."""
    original = task.retry

    def retry(*args, countdown=None, **kwargs):
        return original(*args, countdown=0, **kwargs)

    return retry
