"""The shipping partner call (the outbox's `shipping_notice` kind): payload, idempotency header,
retries only when worth it."""

import json

import pytest

from shop.core.logs import key_value_pairs
from shop.orders.models import OrderStatus
from shop.orders.services import change_order_status
from shop.outbox.runner import backoff
from shop.outbox.tasks import run_entry_task
from shop.shipping.models import ShippingAttempt
from tests.helpers import ADDRESS, PartnerStub, work

pytestmark = pytest.mark.django_db


@pytest.fixture
def shipped_order(place, alice, staff, make_product):
    order = place(alice, (make_product("Tent", price="150.00", stock=3), 1))
    change_order_status(order_id=order.pk, actor=staff, status="processing")
    change_order_status(order_id=order.pk, actor=staff, status="shipped")
    return order


def run_task(order):
    return run_entry_task.apply(kwargs={"entry_id": work(order, "shipping_notice").pk})


def notice(order):
    return work(order, "shipping_notice")


def attempts(order) -> list[tuple[int, int | None]]:
    return list(ShippingAttempt.objects.filter(order=order).values_list("attempt", "status_code"))


def test_shipping_an_order_owes_a_notice(shipped_order):
    assert notice(shipped_order).status == "pending"


def test_it_posts_the_order_with_an_idempotency_key(partner, shipped_order, alice):
    assert run_task(shipped_order).successful()
    (call,) = partner.calls
    assert call["headers"]["Idempotency-Key"] == f"order-{shipped_order.pk}-shipped"
    assert call["json"] == {
        "order_id": shipped_order.pk,
        "user": {"id": alice.pk, "username": "alice", "email": "alice@example.com"},
        "items": [
            {
                "product": shipped_order.items.get().product_id,
                "product_name": "Tent",
                "quantity": 1,
                "price_at_purchase": "150.00",
            }
        ],
        "shipping_address": ADDRESS,
        "total_price": "150.00",
        "currency": "EUR",
        "status": "shipped",
    }
    assert (notice(shipped_order).status, notice(shipped_order).attempts) == ("done", 1)
    assert '"id": 101' in ShippingAttempt.objects.get(order=shipped_order).response_excerpt


def test_two_failures_then_success_make_exactly_three_calls(partner, shipped_order):
    partner.script = [503, 502]
    assert run_task(shipped_order).successful()
    assert len(partner.calls) == 3
    assert attempts(shipped_order) == [(1, 503), (2, 502), (3, 201)]
    assert notice(shipped_order).status == "done"


def test_always_503_makes_four_calls_then_records_the_failure(partner, shipped_order):
    partner.script = [503] * 10
    assert run_task(shipped_order).successful()  # the last attempt settled it: nothing to retry
    assert len(partner.calls) == 4
    assert (notice(shipped_order).status, notice(shipped_order).attempts) == ("failed", 4)
    shipped_order.refresh_from_db()
    assert shipped_order.status == OrderStatus.SHIPPED  # never rolled back by the partner


def test_a_4xx_is_permanent_after_one_call(partner, shipped_order):
    partner.script = [404]
    assert run_task(shipped_order).successful()
    assert len(partner.calls) == 1
    assert notice(shipped_order).status == "failed"


def test_timeouts_are_retried(partner, shipped_order):
    partner.script = ["hang"]
    assert run_task(shipped_order).successful()
    (first, second) = ShippingAttempt.objects.filter(order=shipped_order)
    assert first.status_code is None and "Timeout" in first.error
    assert second.status_code == 201


def test_connection_errors_are_retried(settings, shipped_order):
    settings.EXTERNAL_API_URL = "http://127.0.0.1:9/closed"
    assert run_task(shipped_order).successful()
    assert notice(shipped_order).status == "failed"
    assert [code for _, code in attempts(shipped_order)] == [None] * 4
    assert "ConnectionError" in ShippingAttempt.objects.first().error


def test_a_finished_notice_is_not_sent_again(partner, shipped_order):
    run_task(shipped_order)
    run_task(shipped_order)
    assert len(partner.calls) == 1


def test_backoff_grows_exponentially_with_jitter(settings):
    settings.EXTERNAL_API_RETRY_BACKOFF = 2.0
    for retries in range(4):
        delay = backoff(retries, settings.EXTERNAL_API_RETRY_BACKOFF)
        assert 2.0 * 2**retries <= delay <= 2.0 * 2**retries + 2.0


def test_each_step_is_logged_on_one_line(partner, shipped_order, caplog):
    partner.script = [503]
    with caplog.at_level("INFO", logger="shop.tasks"):
        run_task(shipped_order)
    lines = [r.getMessage() for r in caplog.records if r.name == "shop.tasks"]
    task = "task=shop.outbox.tasks.run_entry"
    order = f"entry_id={notice(shipped_order).pk}"
    assert any(
        line.startswith(f"event=task_started {task}") and order in line and "attempt=1" in line
        for line in lines
    )
    assert any(
        line.startswith(f"event=task_retry {task}")
        and order in line
        and "attempt=1 retry_in=0s eager=true" in line  # .apply() runs in-process: no wait
        and 'reason="TryAgain: HTTP 503"' in line
        for line in lines
    ), lines
    assert any(line.startswith(f"event=task_started {task}") and "attempt=2" in line for line in lines)
    assert any(line.startswith(f"event=task_succeeded {task}") and order in line for line in lines)


def test_a_final_failure_is_logged(partner, shipped_order, caplog):
    partner.script = [503] * 4
    with caplog.at_level("INFO", logger="shop.outbox"):
        run_task(shipped_order)
    entry = notice(shipped_order)
    assert [r.getMessage() for r in caplog.records if r.levelname == "ERROR"] == [
        f"event=outbox_failed kind=shipping_notice entry_id={entry.pk} object_id={shipped_order.pk}"
        ' attempts=4 error="HTTP 503"'
    ]


def test_the_log_sink_sends_nothing_and_logs_the_notice(shipped_order, settings, caplog, monkeypatch):
    import requests

    def no_network(*args, **kwargs):
        raise AssertionError("the log sink must not call anyone")

    monkeypatch.setattr(requests, "post", no_network)
    settings.EXTERNAL_API_URL = "log:"
    with caplog.at_level("INFO", logger="shop.shipping.client"):
        run_task(shipped_order)
    assert notice(shipped_order).status == "done"
    [line] = [r.getMessage() for r in caplog.records if "event=partner_notice_logged" in r.getMessage()]
    payload = json.loads(key_value_pairs(line)["payload"])  # one quoted value, however many spaces
    assert payload["order_id"] == shipped_order.pk


@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_a_redirect_is_an_answer_never_an_address_to_call(partner, shipped_order, status):
    elsewhere = PartnerStub()
    try:
        partner.script = [status]
        partner.location = elsewhere.url
        run_task(shipped_order)
        assert elsewhere.calls == []
    finally:
        elsewhere.close()
    assert attempts(shipped_order) == [(1, status)]
    assert notice(shipped_order).status == "failed"
