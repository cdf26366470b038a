"""Partial failure of the work that follows an order: a poisoned invoice gives up and does not
hold back the e-mail, a cancelled order is not confirmed, failed notices are sent again with one
command, a crash mid-call leaves evidence, and the sweeper tells lost work from late work."""

import pickle
import uuid
from datetime import timedelta

import pytest
from django.contrib.admin.sites import site
from django.core import mail
from django.core.management import call_command
from django.utils import timezone

from shop.invoices.models import Invoice, InvoiceStatus
from shop.invoices.tasks import generate_invoice_task
from shop.notifications.models import EmailNotification, EmailStatus
from shop.notifications.tasks import send_order_confirmation_task
from shop.orders.claims import ClaimHeld
from shop.orders.outbox import enqueue_order_placed, queue_backlog, resume_pending_work
from shop.orders.services import change_order_status
from shop.shipping import services as shipping_services
from shop.shipping.models import ShippingAttempt, ShippingNotification, ShippingStatus
from shop.shipping.tasks import notify_partner_task

pytestmark = pytest.mark.django_db


@pytest.fixture
def order(place, alice, make_product):
    return place(alice, (make_product("Lamp", price="30.00", stock=10), 1))


@pytest.fixture
def shipped(order, staff):
    change_order_status(order_id=order.pk, actor=staff, status="processing")
    change_order_status(order_id=order.pk, actor=staff, status="shipped")
    return order


@pytest.fixture
def poisoned_render(monkeypatch):
    def explode(order):
        raise ValueError("the renderer chokes on this order")

    monkeypatch.setattr("shop.invoices.services.render_invoice", explode)


def test_a_poisoned_invoice_gives_up_and_the_email_goes_out_without_it(order, poisoned_render, settings):
    enqueue_order_placed(order.pk)  # invoice -> e-mail, in-process: every retry runs at once
    invoice = Invoice.objects.get(order=order)
    assert invoice.status == InvoiceStatus.FAILED
    assert invoice.attempts == settings.INVOICE_MAX_RETRIES + 1
    assert "ValueError: the renderer chokes" in invoice.error
    assert EmailNotification.objects.get(order=order).status == EmailStatus.SENT
    [message] = mail.outbox
    assert message.attachments == []
    assert "Your invoice follows" in message.body
    later = timezone.now() + timedelta(hours=1)
    assert resume_pending_work(now=later) == {"invoices": 0, "emails": 0, "shipping": 0}  # never again


def test_attempts_are_bounded_across_redeliveries_and_sweeps(order, poisoned_render, settings):
    Invoice.objects.filter(order=order).update(attempts=settings.INVOICE_MAX_RETRIES + 1)
    generate_invoice_task.apply(kwargs={"order_id": order.pk})  # a republished task: no attempt left
    invoice = Invoice.objects.get(order=order)
    assert (invoice.status, invoice.attempts) == (InvoiceStatus.FAILED, settings.INVOICE_MAX_RETRIES + 1)


def test_a_cancelled_order_is_not_confirmed_and_the_skip_is_recorded(order, alice):
    change_order_status(order_id=order.pk, actor=alice, status="cancelled")
    send_order_confirmation_task.apply(kwargs={"order_id": order.pk})
    notification = EmailNotification.objects.get(order=order)
    assert notification.status == EmailStatus.SKIPPED
    assert "cancelled" in notification.error
    assert mail.outbox == []


def test_a_partner_outage_ends_with_one_command_and_one_delivery(
    shipped, partner, settings, django_capture_on_commit_callbacks
):
    partner.script = [503] * (settings.EXTERNAL_API_MAX_RETRIES + 1)
    notify_partner_task.apply(kwargs={"order_id": shipped.pk})
    notification = ShippingNotification.objects.get(order=shipped)
    assert notification.status == ShippingStatus.FAILED
    assert len(partner.calls) == settings.EXTERNAL_API_MAX_RETRIES + 1
    with django_capture_on_commit_callbacks(execute=True):  # published once the requeue commits
        call_command("requeue_failed", "--kind", "shipping")  # the partner is back (answers 201)
    notification.refresh_from_db()
    assert (notification.status, notification.requeues) == (ShippingStatus.SENT, 1)
    assert notification.requeued_at is not None
    answers = [call["json"]["order_id"] for call in partner.calls]
    assert answers == [shipped.pk] * (settings.EXTERNAL_API_MAX_RETRIES + 2)
    statuses = list(notification.calls.values_list("status_code", flat=True))
    assert statuses.count(201) == 1 and statuses[-1] == 201
    call_command("requeue_failed")  # nothing failed any more: nothing sent again
    assert len(partner.calls) == settings.EXTERNAL_API_MAX_RETRIES + 2


def test_a_mail_outage_ends_with_one_command_and_one_email(order, capsys, django_capture_on_commit_callbacks):
    Invoice.objects.filter(order=order).update(status=InvoiceStatus.READY)
    EmailNotification.objects.filter(order=order).update(status=EmailStatus.FAILED, error="SMTP down")
    since = (timezone.now() - timedelta(minutes=5)).isoformat()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("requeue_failed", "--kind", "emails", "--since", since)
    assert "requeued emails=1" in capsys.readouterr().out
    assert EmailNotification.objects.get(order=order).status == EmailStatus.SENT
    assert len(mail.outbox) == 1
    call_command("requeue_failed", "--since", (timezone.now() + timedelta(minutes=1)).isoformat())
    assert len(mail.outbox) == 1


def test_staff_requeue_from_the_admin(shipped, partner, client, staff, django_capture_on_commit_callbacks):
    ShippingNotification.objects.filter(order=shipped).update(status=ShippingStatus.FAILED)
    staff.is_superuser = True
    staff.save()
    client.force_login(staff)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/admin/shipping/shippingnotification/",
            {
                "action": "requeue_selected",
                "_selected_action": [ShippingNotification.objects.get(order=shipped).pk],
            },
            follow=True,
        )
    assert response.status_code == 200
    assert "Requeued 1 failed row(s)" in response.content.decode()
    assert ShippingNotification.objects.get(order=shipped).status == ShippingStatus.SENT
    assert len(partner.calls) == 1
    assert "requeue_selected" in site._registry[ShippingNotification].get_actions(response.wsgi_request)


def test_a_crash_after_the_partner_accepted_leaves_evidence_and_resends_with_the_same_key(
    shipped, partner, monkeypatch
):
    real_post = shipping_services.post_shipment

    def accepted_then_killed(**kwargs):
        real_post(**kwargs)
        raise SystemExit("worker killed before it could record the answer")

    monkeypatch.setattr(shipping_services, "post_shipment", accepted_then_killed)
    with pytest.raises(SystemExit):
        shipping_services.notify_partner(order_id=shipped.pk)
    notification = ShippingNotification.objects.get(order=shipped)
    assert (notification.status, notification.attempts) == (ShippingStatus.PENDING, 1)
    [attempt] = ShippingAttempt.objects.filter(notification=notification)
    assert attempt.status_code is None and attempt.error == shipping_services.IN_FLIGHT

    monkeypatch.setattr(shipping_services, "post_shipment", real_post)
    with pytest.raises(ClaimHeld) as held:  # the dead attempt's claim holds until its lease ends
        shipping_services.notify_partner(order_id=shipped.pk)
    # The pool process hands the error to the worker pickled: it must come back whole.
    again = pickle.loads(pickle.dumps(held.value))
    assert (type(again), str(again), again.seconds) == (ClaimHeld, str(held.value), held.value.seconds)
    assert len(partner.calls) == 1
    ShippingNotification.objects.filter(pk=notification.pk).update(claimed_until=timezone.now())  # lease over
    shipping_services.notify_partner(order_id=shipped.pk)
    notification.refresh_from_db()
    assert notification.status == ShippingStatus.SENT and notification.attempts == 2
    keys = {call["headers"]["Idempotency-Key"] for call in partner.calls}
    assert len(partner.calls) == 2 and keys == {f"order-{shipped.pk}-shipped"}


@pytest.mark.redis
def test_the_sweeper_leaves_late_work_to_the_queue_and_resumes_lost_work(order, use_broker, settings):
    from config.celery import app

    settings.CELERY_TASK_DEFAULT_QUEUE = queue = f"sweep-test-{uuid.uuid4().hex[:8]}"
    app.conf.task_default_queue = queue
    try:
        use_broker(settings.CELERY_BROKER_URL)
        assert enqueue_order_placed(order.pk)  # taken by the broker; no worker consumes it
        assert queue_backlog() == 1
        later = timezone.now() + timedelta(hours=1)
        assert resume_pending_work(now=later)["invoices"] == 0  # late, not lost: it waits in the queue
        Invoice.objects.filter(order=order).update(enqueued_at=None)  # as if the publish was lost
        assert resume_pending_work(now=later)["invoices"] == 1  # never taken by the broker: lost
        with app.connection_for_write() as connection:
            connection.default_channel.queue_purge(queue)
        Invoice.objects.filter(order=order).update(enqueued_at=timezone.now() - timedelta(hours=2))
        assert resume_pending_work(now=later)["invoices"] == 1  # queue empty: the row was lost
    finally:
        app.conf.task_default_queue = "shop"
        with app.connection_for_write() as connection:
            connection.default_channel.queue_delete(queue)


def test_the_sweeper_leaves_a_claimed_row_to_its_attempt(order):
    Invoice.objects.filter(order=order).update(claimed_until=timezone.now() + timedelta(hours=2))
    later = timezone.now() + timedelta(hours=1)
    assert resume_pending_work(now=later)["invoices"] == 0
