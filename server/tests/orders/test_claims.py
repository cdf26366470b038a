"""Claiming an outbox row for one attempt, under the row's lock: a free row is claimed and the
claim committed, a held one refused, a done one left alone, one out of attempts failed. On
PostgreSQL, racing claimers get the row once."""

from datetime import timedelta

import pytest
from django.utils import timezone

from shop.invoices.models import Invoice, InvoiceStatus
from shop.orders.claims import ClaimHeld, claim, lease
from tests.helpers import race

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def invoice(place, alice, make_product) -> Invoice:
    order = place(alice, (make_product("Lamp", price="30.00", stock=10), 1))
    # the tests' eager tasks have made it already: back to a row no attempt has touched
    Invoice.objects.filter(order=order).update(status=InvoiceStatus.PENDING, attempts=0, claimed_until=None)
    return Invoice.objects.get(order=order)


def claim_invoice(invoice: Invoice, max_attempts: int = 3):
    return claim(Invoice, order_id=invoice.order_id, failed=InvoiceStatus.FAILED, max_attempts=max_attempts)


def test_a_free_row_is_claimed_and_the_claim_committed(invoice):
    before = timezone.now()
    row = claim_invoice(invoice)
    assert row.attempts == 1 and row.status == InvoiceStatus.PENDING
    assert before + lease() <= row.claimed_until <= timezone.now() + lease()
    invoice.refresh_from_db()
    assert (invoice.attempts, invoice.claimed_until) == (1, row.claimed_until)


def test_a_held_row_raises_and_a_lapsed_claim_is_taken_again(invoice):
    claim_invoice(invoice)
    with pytest.raises(ClaimHeld):
        claim_invoice(invoice)
    Invoice.objects.filter(pk=invoice.pk).update(claimed_until=timezone.now() - timedelta(seconds=1))
    assert claim_invoice(invoice).attempts == 2


def test_a_row_out_of_attempts_is_failed_and_a_done_row_is_left_alone(invoice):
    Invoice.objects.filter(pk=invoice.pk).update(attempts=3)
    assert claim_invoice(invoice, max_attempts=3) is None
    invoice.refresh_from_db()
    assert (invoice.status, invoice.attempts) == (InvoiceStatus.FAILED, 3)
    assert invoice.error == "gave up: no attempt left"
    Invoice.objects.filter(pk=invoice.pk).update(status=InvoiceStatus.READY, attempts=1)
    assert claim_invoice(invoice) is None
    invoice.refresh_from_db()
    assert (invoice.status, invoice.attempts) == (InvoiceStatus.READY, 1)


def test_a_missing_row_raises_as_before(invoice):
    with pytest.raises(Invoice.DoesNotExist):
        claim(Invoice, order_id=invoice.order_id + 1000, failed=InvoiceStatus.FAILED, max_attempts=3)


def test_eight_racing_claimers_get_the_row_once(invoice):
    results = race([lambda: claim_invoice(invoice)] * 8)
    claimed = [r for r in results if isinstance(r, Invoice)]
    assert len(claimed) == 1 and claimed[0].attempts == 1
    assert all(isinstance(r, ClaimHeld) for r in results if r is not claimed[0]), results
    invoice.refresh_from_db()
    assert invoice.attempts == 1
