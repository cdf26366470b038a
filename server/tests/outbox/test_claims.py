"""Claiming an entry for one attempt, under its row lock: a free entry is claimed and the claim
committed, a held one refused, a settled one left alone, one out of attempts failed, one after a
pending entry left waiting. On PostgreSQL, racing claimers get it once."""

from datetime import timedelta

import pytest
from django.utils import timezone

from shop.outbox.claims import ClaimHeld, claim, lease
from shop.outbox.kinds import Kind, Outcome
from shop.outbox.models import Entry
from shop.outbox.publish import owe
from tests.helpers import race

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def entry(register_kind, settings) -> Entry:
    settings.ECHO_MAX_RETRIES, settings.ECHO_RETRY_BACKOFF = 2, 0.01
    register_kind(Kind("echo", run=lambda entry: Outcome(), settings_prefix="ECHO"))
    return owe("echo", 7)


def test_a_free_entry_is_claimed_and_the_claim_committed(entry):
    before = timezone.now()
    claimed = claim(entry.pk)
    assert claimed.attempts == 1 and claimed.status == "pending"
    assert before + lease() <= claimed.claimed_until <= timezone.now() + lease()
    entry.refresh_from_db()
    assert (entry.attempts, entry.claimed_until) == (1, claimed.claimed_until)


def test_a_held_entry_raises_and_a_lapsed_claim_is_taken_again(entry):
    claim(entry.pk)
    with pytest.raises(ClaimHeld):
        claim(entry.pk)
    Entry.objects.filter(pk=entry.pk).update(claimed_until=timezone.now() - timedelta(seconds=1))
    assert claim(entry.pk).attempts == 2


def test_an_entry_out_of_attempts_is_failed_and_a_settled_one_is_left_alone(entry):
    Entry.objects.filter(pk=entry.pk).update(attempts=3)  # ECHO_MAX_RETRIES + 1
    assert claim(entry.pk) is None
    entry.refresh_from_db()
    assert (entry.status, entry.attempts, entry.error) == ("failed", 3, "gave up: no attempt left")
    assert entry.settled_at is not None
    Entry.objects.filter(pk=entry.pk).update(status="done", attempts=1)
    assert claim(entry.pk) is None
    entry.refresh_from_db()
    assert (entry.status, entry.attempts) == ("done", 1)


def test_an_entry_after_a_pending_one_waits_without_using_an_attempt(entry):
    follower = owe("echo", 8, after=entry)
    assert claim(follower.pk) is None
    follower.refresh_from_db()
    assert (follower.status, follower.attempts) == ("pending", 0)
    Entry.objects.filter(pk=entry.pk).update(status="failed")  # settled, whichever way
    assert claim(follower.pk).attempts == 1


def test_a_missing_entry_is_nothing_to_do(entry):
    assert claim(entry.pk + 1000) is None


def test_eight_racing_claimers_get_the_entry_once(entry):
    results = race([lambda: claim(entry.pk)] * 8)
    claimed = [r for r in results if isinstance(r, Entry)]
    assert len(claimed) == 1 and claimed[0].attempts == 1
    assert all(isinstance(r, ClaimHeld) for r in results if r is not claimed[0]), results
    entry.refresh_from_db()
    assert entry.attempts == 1


def test_one_pending_entry_per_kind_and_object(entry):
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        owe("echo", 7)
    Entry.objects.filter(pk=entry.pk).update(status="done")
    assert owe("echo", 7).pk != entry.pk  # once settled, the same work may be owed again
