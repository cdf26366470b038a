"""Partial failure of the work that follows an order: a poisoned invoice gives up and does not
hold back the e-mail, a cancelled order is not confirmed, failed notices are sent again with one
command or the admin, a crash mid-call leaves evidence, and the sweeper tells lost work from
late work."""

import pickle
import uuid
from datetime import timedelta

import pytest
from django.contrib.admin.sites import site
from django.core import mail
from django.core.management import call_command
from django.utils import timezone

from shop.orders.services import change_order_status
from shop.outbox.claims import ClaimHeld
from shop.outbox.models import Entry
from shop.outbox.publish import publish, queue_backlog
from shop.outbox.runner import run
from shop.outbox.sweeper import resume_pending_work
from shop.outbox.tasks import run_entry_task
from shop.shipping import services as shipping_services
from shop.shipping.models import ShippingAttempt
from tests.helpers import work

pytestmark = pytest.mark.django_db


@pytest.fixture
def order(place, alice, lamp):
    return place(alice, (lamp, 1))


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
    publish([work(order, "invoice"), work(order, "order_confirmation")])  # in-process: retries at once
    invoice = work(order, "invoice")
    assert invoice.status == "failed"
    assert invoice.attempts == settings.INVOICE_MAX_RETRIES + 1
    assert "ValueError: the renderer chokes" in invoice.error
    assert work(order, "order_confirmation").status == "done"
    [message] = mail.outbox
    assert message.attachments == []
    assert "Your invoice follows" in message.body
    later = timezone.now() + timedelta(hours=1)
    assert sum(resume_pending_work(now=later).values()) == 0  # never again


def test_attempts_are_bounded_across_redeliveries_and_sweeps(order, poisoned_render, settings):
    entry = work(order, "invoice")
    Entry.objects.filter(pk=entry.pk).update(attempts=settings.INVOICE_MAX_RETRIES + 1)
    run_entry_task.apply(kwargs={"entry_id": entry.pk})  # a republished task: no attempt left
    entry.refresh_from_db()
    assert (entry.status, entry.attempts) == ("failed", settings.INVOICE_MAX_RETRIES + 1)


def test_a_cancelled_order_is_not_confirmed_and_the_skip_is_recorded(order, alice):
    change_order_status(order_id=order.pk, actor=alice, status="cancelled")
    run(work(order, "invoice").pk)
    run_entry_task.apply(kwargs={"entry_id": work(order, "order_confirmation").pk})
    email = work(order, "order_confirmation")
    assert email.status == "skipped" and "cancelled" in email.error
    assert mail.outbox == []


def test_the_email_waits_while_its_invoice_is_pending(order):
    email = work(order, "order_confirmation")
    assert run(email.pk) is None  # claimed by nobody, no attempt used: the sweeper brings it later
    email.refresh_from_db()
    assert (email.status, email.attempts) == ("pending", 0) and mail.outbox == []
    later = timezone.now() + timedelta(hours=1)
    assert resume_pending_work(now=later)["order_confirmation"] == 1  # with its invoice, after it
    assert len(mail.outbox) == 1 and len(mail.outbox[0].attachments) == 1


def test_a_partner_outage_ends_with_one_command_and_one_delivery(
    shipped, partner, settings, django_capture_on_commit_callbacks
):
    partner.script = [503] * (settings.EXTERNAL_API_MAX_RETRIES + 1)
    run_entry_task.apply(kwargs={"entry_id": work(shipped, "shipping_notice").pk})
    notice = work(shipped, "shipping_notice")
    assert notice.status == "failed" and notice.error == "HTTP 503"
    assert len(partner.calls) == settings.EXTERNAL_API_MAX_RETRIES + 1
    with django_capture_on_commit_callbacks(execute=True):  # published once the requeue commits
        call_command("requeue_failed", "--kind", "shipping_notice")  # the partner is back (answers 201)
    notice.refresh_from_db()
    assert (notice.status, notice.requeues) == ("done", 1)
    assert notice.requeued_at is not None
    answers = [call["json"]["order_id"] for call in partner.calls]
    assert answers == [shipped.pk] * (settings.EXTERNAL_API_MAX_RETRIES + 2)
    statuses = list(ShippingAttempt.objects.filter(order=shipped).values_list("status_code", flat=True))
    assert statuses == [503] * (settings.EXTERNAL_API_MAX_RETRIES + 1) + [201]
    call_command("requeue_failed")  # nothing failed any more: nothing sent again
    assert len(partner.calls) == settings.EXTERNAL_API_MAX_RETRIES + 2


def test_a_refusal_fails_at_once_with_the_answer_recorded(shipped, partner):
    partner.script = [422]
    run_entry_task.apply(kwargs={"entry_id": work(shipped, "shipping_notice").pk})
    notice = work(shipped, "shipping_notice")
    assert (notice.status, notice.attempts, notice.error) == ("failed", 1, "HTTP 422")
    assert list(ShippingAttempt.objects.filter(order=shipped).values_list("status_code", flat=True)) == [422]


def test_a_mail_outage_ends_with_one_command_and_one_email(order, capsys, django_capture_on_commit_callbacks):
    run(work(order, "invoice").pk)
    Entry.objects.filter(kind="order_confirmation").update(status="failed", error="SMTP down")
    since = (timezone.now() - timedelta(minutes=5)).isoformat()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("requeue_failed", "--kind", "order_confirmation", "--since", since)
    assert "requeued order_confirmation=1" in capsys.readouterr().out
    assert work(order, "order_confirmation").status == "done"
    assert len(mail.outbox) == 1
    call_command("requeue_failed", "--since", (timezone.now() + timedelta(minutes=1)).isoformat())
    assert len(mail.outbox) == 1


def test_staff_requeue_from_the_admin(shipped, partner, client, staff, django_capture_on_commit_callbacks):
    notice = work(shipped, "shipping_notice")
    Entry.objects.filter(pk=notice.pk).update(status="failed")
    staff.is_superuser = True
    staff.save()
    client.force_login(staff)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/admin/outbox/entry/",
            {"action": "requeue_selected", "_selected_action": [notice.pk]},
            follow=True,
        )
    assert response.status_code == 200
    assert "Requeued 1 failed entry(ies)" in response.content.decode()
    assert work(shipped, "shipping_notice").status == "done"
    assert len(partner.calls) == 1
    assert "requeue_selected" in site._registry[Entry].get_actions(response.wsgi_request)


def test_a_crash_after_the_partner_accepted_leaves_evidence_and_resends_with_the_same_key(
    shipped, partner, monkeypatch
):
    real_post = shipping_services.post_shipment

    def accepted_then_killed(**kwargs):
        real_post(**kwargs)
        raise SystemExit("worker killed before it could record the answer")

    notice = work(shipped, "shipping_notice")
    monkeypatch.setattr(shipping_services, "post_shipment", accepted_then_killed)
    with pytest.raises(SystemExit):
        run(notice.pk)
    notice.refresh_from_db()
    assert (notice.status, notice.attempts) == ("pending", 1)
    [attempt] = ShippingAttempt.objects.filter(order=shipped)
    assert attempt.status_code is None and attempt.error == shipping_services.IN_FLIGHT

    monkeypatch.setattr(shipping_services, "post_shipment", real_post)
    with pytest.raises(ClaimHeld) as held:  # the dead attempt's claim holds until its lease ends
        run(notice.pk)
    # The pool process hands the error to the worker pickled: it must come back whole.
    again = pickle.loads(pickle.dumps(held.value))
    assert (type(again), str(again), again.seconds) == (ClaimHeld, str(held.value), held.value.seconds)
    assert len(partner.calls) == 1
    Entry.objects.filter(pk=notice.pk).update(claimed_until=timezone.now())  # lease over
    run(notice.pk)
    notice.refresh_from_db()
    assert notice.status == "done" and notice.attempts == 2
    keys = {call["headers"]["Idempotency-Key"] for call in partner.calls}
    assert len(partner.calls) == 2 and keys == {f"order-{shipped.pk}-shipped"}


@pytest.mark.redis
def test_the_sweeper_leaves_late_work_to_the_queue_and_resumes_lost_work(order, use_broker, settings):
    from config.celery import app

    settings.CELERY_TASK_DEFAULT_QUEUE = queue = f"sweep-test-{uuid.uuid4().hex[:8]}"
    app.conf.task_default_queue = queue
    invoice = work(order, "invoice")
    try:
        use_broker(settings.CELERY_BROKER_URL)
        assert publish([invoice])  # taken by the broker; no worker consumes it
        assert queue_backlog() == 1
        later = timezone.now() + timedelta(hours=1)
        assert resume_pending_work(now=later)["invoice"] == 0  # late, not lost: it waits in the queue
        Entry.objects.filter(pk=invoice.pk).update(enqueued_at=None)  # as if the publish was lost
        assert resume_pending_work(now=later)["invoice"] == 1  # never taken by the broker: lost
        with app.connection_for_write() as connection:
            connection.default_channel.queue_purge(queue)
        Entry.objects.filter(pk=invoice.pk).update(enqueued_at=timezone.now() - timedelta(hours=2))
        assert resume_pending_work(now=later)["invoice"] == 1  # queue empty: the entry was lost
    finally:
        app.conf.task_default_queue = "shop"
        with app.connection_for_write() as connection:
            connection.default_channel.queue_delete(queue)


def test_the_sweeper_leaves_a_claimed_entry_to_its_attempt(order):
    Entry.objects.filter(kind="invoice").update(claimed_until=timezone.now() + timedelta(hours=2))
    later = timezone.now() + timedelta(hours=1)
    assert resume_pending_work(now=later)["invoice"] == 0
