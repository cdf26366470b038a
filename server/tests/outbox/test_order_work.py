"""After-commit work of an order: nothing for a rolled-back order, everything for a committed
one, and the sweeper for what the broker could not take."""

import logging
import time
from datetime import timedelta

import pytest
from django.core import mail
from django.db import transaction
from django.utils import timezone

from shop.invoices.models import Invoice
from shop.orders.services import place_order
from shop.outbox.models import Entry
from shop.outbox.publish import publish
from shop.outbox.sweeper import resume_pending_work
from tests.helpers import ADDRESS, statement, work

pytestmark = pytest.mark.django_db

NOTHING = {
    "email_verification": 0,
    "invoice": 0,
    "order_confirmation": 0,
    "password_reset_email": 0,
    "shipping_notice": 0,
}


@pytest.fixture
def mug(make_product):
    return make_product("Mug", price="9.90", stock=50)


def test_a_rolled_back_order_enqueues_nothing(alice, mug, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks, pytest.raises(RuntimeError), transaction.atomic():
        place_order(user=alice, items=[{"product": mug.pk, "quantity": 1}], shipping_address=ADDRESS)
        raise RuntimeError("something later in the transaction failed")
    assert callbacks == []
    assert not Entry.objects.exists()


def test_a_placed_order_gets_its_invoice_and_email_after_commit(
    client_for, alice, mug, django_capture_on_commit_callbacks
):
    client = client_for(alice)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        order_id = client.post("/api/orders/", {"items": [{"product": mug.pk, "quantity": 2}]}).json()["id"]
    invoice, email = work(order_id, "invoice"), work(order_id, "order_confirmation")
    published = [c.args for c in callbacks if getattr(c, "func", None) is publish]
    assert published == [([(invoice.pk, "invoice", order_id), (email.pk, "order_confirmation", order_id)],)]
    assert (invoice.status, email.status, email.after_id) == ("done", "done", invoice.pk)
    assert invoice.enqueued_at is not None and invoice.settled_at is not None
    assert Invoice.objects.get(order_id=order_id).file == f"invoices/order-{order_id}.pdf"
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
    assert work(order, "shipping_notice").status == "done"


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
    invoice = work(order_id, "invoice")
    assert (invoice.status, invoice.enqueued_at) == ("pending", None)

    assert resume_pending_work() == NOTHING  # too early to resume

    use_broker(None)  # the broker is back (tasks run in-process here)
    later = timezone.now() + timedelta(minutes=10)
    # the invoice is lost; its e-mail waits for it and rides on the same message
    assert resume_pending_work(now=later) == {**NOTHING, "invoice": 1, "order_confirmation": 1}
    assert work(order_id, "invoice").status == work(order_id, "order_confirmation").status == "done"
    assert len(mail.outbox) == 1
    assert resume_pending_work(now=later) == NOTHING


def test_the_sweeper_resumes_emails_and_partner_notices_too(alice, staff, mug, partner, place):
    from shop.orders.services import change_order_status
    from shop.outbox.runner import run

    order = place(alice, (mug, 1))  # in the test's transaction: never published
    run(work(order, "invoice").pk)  # the e-mail was never sent
    change_order_status(order_id=order.pk, actor=staff, status="processing")
    change_order_status(order_id=order.pk, actor=staff, status="shipped")  # partner never called
    later = timezone.now() + timedelta(minutes=10)
    assert resume_pending_work(now=later) == {**NOTHING, "order_confirmation": 1, "shipping_notice": 1}
    assert len(mail.outbox) == 1 and len(partner.calls) == 1


def test_beat_runs_the_sweeper_as_a_task(alice, mug, place, settings):
    from shop.outbox.tasks import resume_pending_work_task as sweep_task

    order = place(alice, (mug, 1))  # in the test's transaction: never published
    assert sweep_task.apply().get() == NOTHING  # not stale yet
    settings.OUTBOX_RESUME_AFTER = 0
    assert sweep_task.apply().get() == {**NOTHING, "invoice": 1, "order_confirmation": 1}
    assert work(order, "invoice").status == "done"  # the published chain ran (in-process)
    assert Invoice.objects.filter(order=order).exists()


@pytest.mark.django_db(transaction=True)  # autocommit, as in a worker: every BEGIN and COMMIT counts
def test_each_run_costs_its_statements_and_no_more(alice, staff, mug, partner, monkeypatch):
    """What the worker pays per order, statement by statement: the claim (a locked read with the
    entry it runs after, and the counted attempt), the work's reads, and the outcome."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from shop.orders.services import change_order_status
    from shop.outbox.models import Entry
    from shop.outbox.runner import run

    monkeypatch.setattr("shop.outbox.publish.publish", lambda *args, **kwargs: True)  # run by hand below
    with transaction.atomic():
        order, _ = place_order(
            user=alice, items=[{"product": mug.pk, "quantity": 1}], shipping_address=ADDRESS
        )
    claim = ["BEGIN", "SELECT outbox_entry FOR UPDATE", "UPDATE outbox_entry", "COMMIT"]
    expected = {
        "invoice": [
            *claim,
            "SELECT orders_order",
            "SELECT orders_orderitem",
            *["BEGIN", "INSERT invoices_invoice", "UPDATE outbox_entry", "COMMIT"],
        ],
        "order_confirmation": [*claim, "SELECT orders_order", "UPDATE outbox_entry"],
    }
    for kind, statements in expected.items():
        entry = work(order, kind)
        with CaptureQueriesContext(connection) as queries:
            assert run(entry.pk).status == "done"
        assert [statement(q["sql"]) for q in queries.captured_queries] == statements, kind
    with transaction.atomic():
        change_order_status(order_id=order.pk, actor=staff, status="processing")
        change_order_status(order_id=order.pk, actor=staff, status="shipped")
    entry = work(order, "shipping_notice")
    with CaptureQueriesContext(connection) as queries:
        assert run(entry.pk).status == "done"
    assert [statement(q["sql"]) for q in queries.captured_queries] == [
        *claim[:-1],
        "INSERT shipping_shippingattempt",  # the intent, in the claim's commit
        "COMMIT",
        "SELECT orders_order",
        "SELECT orders_orderitem",
        "SELECT shipping_shippingattempt",
        *["BEGIN", "UPDATE shipping_shippingattempt", "UPDATE outbox_entry", "COMMIT"],
    ]
    assert Entry.objects.filter(status="done").count() == 3
