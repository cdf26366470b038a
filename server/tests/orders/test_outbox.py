"""After-commit work: nothing for a rolled-back order, everything for a committed one, and the
sweeper for what the broker could not take."""

import logging
import time
from datetime import timedelta

import pytest
from django.core import mail
from django.db import transaction
from django.utils import timezone

from shop.invoices.models import Invoice, InvoiceStatus
from shop.notifications.models import EmailNotification, EmailStatus
from shop.orders.outbox import enqueue_order_placed, resume_pending_work
from shop.orders.services import place_order
from shop.shipping.models import ShippingNotification, ShippingStatus

pytestmark = pytest.mark.django_db


@pytest.fixture
def mug(make_product):
    return make_product("Mug", price="9.90", stock=50)


def test_a_rolled_back_order_enqueues_nothing(alice, mug, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks, pytest.raises(RuntimeError), transaction.atomic():
        place_order(user=alice, items=[{"product": mug.pk, "quantity": 1}])
        raise RuntimeError("something later in the transaction failed")
    assert callbacks == []
    assert not Invoice.objects.exists() and not EmailNotification.objects.exists()


def test_a_placed_order_gets_its_invoice_and_email_after_commit(
    client_for, alice, mug, django_capture_on_commit_callbacks
):
    client = client_for(alice)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        order_id = client.post("/api/orders/", {"items": [{"product": mug.pk, "quantity": 2}]}).json()["id"]
    assert [c.args for c in callbacks if getattr(c, "func", None) is enqueue_order_placed] == [(order_id,)]
    invoice = Invoice.objects.get(order_id=order_id)
    assert invoice.status == InvoiceStatus.READY and invoice.enqueued_at is not None
    assert EmailNotification.objects.get(order_id=order_id).status == EmailStatus.SENT
    assert len(mail.outbox) == 1
    assert client.get(f"/api/orders/{order_id}/").json()["report_url"] == f"/api/orders/{order_id}/report/"


def test_shipping_notifies_the_partner_after_commit(
    client_for, staff, alice, mug, partner, place, django_capture_on_commit_callbacks
):
    order = place(alice, (mug, 1))
    client = client_for(staff)
    client.patch(f"/api/orders/{order.pk}/", {"status": "processing"})
    with django_capture_on_commit_callbacks(execute=True):
        client.patch(f"/api/orders/{order.pk}/", {"status": "shipped"})
    assert len(partner.calls) == 1
    assert ShippingNotification.objects.get(order=order).status == ShippingStatus.SENT


def test_with_the_broker_down_orders_are_still_placed_and_the_sweeper_resumes_the_work(
    client_for, alice, mug, staff, partner, use_broker, caplog, django_capture_on_commit_callbacks
):
    use_broker("redis://127.0.0.1:1/0")  # nothing listens there
    client = client_for(alice)
    started = time.monotonic()
    with caplog.at_level(logging.WARNING), django_capture_on_commit_callbacks(execute=True):
        response = client.post("/api/orders/", {"items": [{"product": mug.pk, "quantity": 1}]})
    elapsed = time.monotonic() - started
    assert response.status_code == 201
    # A correctness bound, not a benchmark: publishing must not sit in a retry loop.
    assert elapsed < 5, f"placing an order took {elapsed:.1f}s with the broker down"
    assert "event=enqueue_failed" in caplog.text
    order_id = response.json()["id"]
    invoice = Invoice.objects.get(order_id=order_id)
    assert (invoice.status, invoice.enqueued_at) == (InvoiceStatus.PENDING, None)

    assert resume_pending_work() == {"invoices": 0, "emails": 0, "shipping": 0}  # too early to resume

    use_broker(None)  # the broker is back (tasks run in-process here)
    later = timezone.now() + timedelta(minutes=10)
    assert resume_pending_work(now=later) == {"invoices": 1, "emails": 0, "shipping": 0}
    assert Invoice.objects.get(order_id=order_id).status == InvoiceStatus.READY
    assert EmailNotification.objects.get(order_id=order_id).status == EmailStatus.SENT
    assert len(mail.outbox) == 1
    assert resume_pending_work(now=later) == {"invoices": 0, "emails": 0, "shipping": 0}


def test_the_sweeper_resumes_emails_and_partner_notices_too(alice, staff, mug, partner, place):
    from shop.invoices.services import generate_invoice
    from shop.orders.services import change_order_status

    order = place(alice, (mug, 1))
    generate_invoice(order_id=order.pk)  # the e-mail was never sent
    change_order_status(order_id=order.pk, actor=staff, status="processing")
    change_order_status(order_id=order.pk, actor=staff, status="shipped")  # partner never called
    later = timezone.now() + timedelta(minutes=10)
    assert resume_pending_work(now=later) == {"invoices": 0, "emails": 1, "shipping": 1}
    assert len(mail.outbox) == 1 and len(partner.calls) == 1


def test_beat_runs_the_sweeper_as_a_task(alice, mug, place, settings):
    from shop.orders.tasks import resume_pending_work_task as sweep_task

    order = place(alice, (mug, 1))  # in the test's transaction: never published
    assert sweep_task.apply().get() == {"invoices": 0, "emails": 0, "shipping": 0}  # not stale yet
    settings.OUTBOX_RESUME_AFTER = 0
    assert sweep_task.apply().get() == {"invoices": 1, "emails": 0, "shipping": 0}
    order.invoice.refresh_from_db()
    assert order.invoice.status == InvoiceStatus.READY  # the published chain ran (in-process)
