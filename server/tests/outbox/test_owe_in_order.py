"""`owe_in_order`: a chain of entries about one object, each after the one before, as a chain of
`owe` calls writes it; on PostgreSQL in one statement, elsewhere one insert each."""

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django_guid import set_guid

from shop.outbox import publish
from shop.outbox.kinds import Kind, Outcome
from shop.outbox.models import Entry, EntryStatus
from shop.outbox.publish import owe, owe_in_order
from tests.helpers import statement

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

# Written by the database or the clock: compared apart.
OWN = {"id", "after_id", "created_at", "enqueued_at"}


@pytest.fixture(autouse=True)
def kinds(register_kind, settings):
    settings.ECHO_MAX_RETRIES, settings.ECHO_RETRY_BACKOFF = 2, 0.5
    for name in ("first", "second", "third"):
        register_kind(Kind(name, run=lambda entry: Outcome(), settings_prefix="ECHO"))


@pytest.fixture(params=["one statement", "one by one"])
def path(request, monkeypatch):
    """Both ways: PostgreSQL's one statement, and the inserts other databases get (run here on
    PostgreSQL)."""
    if request.param == "one by one":
        monkeypatch.setattr(publish, "_owed_in_one_statement", publish._owed_one_by_one)
    return request.param


def columns(entry: Entry) -> dict:
    return {field.attname: getattr(entry, field.attname) for field in Entry._meta.concrete_fields}


def test_each_entry_runs_after_the_one_before_and_reads_back_as_returned(path):
    set_guid("request-7")
    entries = owe_in_order(42, "first", "second", "third")
    assert [entry.kind for entry in entries] == ["first", "second", "third"]
    assert [entry.after_id for entry in entries] == [None, entries[0].pk, entries[1].pk]
    assert all(entry.object_id == 42 and entry.status == EntryStatus.PENDING for entry in entries)
    assert all(entry.request_id == "request-7" and entry.attempts == 0 for entry in entries)
    assert all(entry.enqueued_at is not None and entry.created_at is not None for entry in entries)
    stored = {entry.pk: columns(entry) for entry in Entry.objects.filter(object_id=42)}
    assert stored == {entry.pk: columns(entry) for entry in entries}


def test_it_writes_what_a_chain_of_owe_writes(path):
    set_guid("request-8")
    ours = owe_in_order(1, "first", "second")
    first = owe("first", 2)
    theirs = [first, owe("second", 2, after=first)]
    for mine, other in zip(ours, theirs, strict=True):
        mine.refresh_from_db()
        other.refresh_from_db()
        assert {k: v for k, v in columns(mine).items() if k not in OWN | {"object_id"}} == {
            k: v for k, v in columns(other).items() if k not in OWN | {"object_id"}
        }


def test_on_postgresql_the_chain_is_one_insert():
    with CaptureQueriesContext(connection) as queries:
        owe_in_order(3, "first", "second", "third")
    assert [statement(query["sql"]) for query in queries.captured_queries] == ["INSERT outbox_entry"]


def test_an_unknown_kind_fails_before_anything_is_written(path):
    with pytest.raises(LookupError, match="no outbox kind 'nonsense'"):
        owe_in_order(4, "first", "nonsense")
    assert not Entry.objects.filter(object_id=4).exists()


def test_work_already_owed_is_refused_as_owe_refuses_it(path):
    owe_in_order(5, "first", "second")
    with pytest.raises(IntegrityError), transaction.atomic():
        owe_in_order(5, "first", "second")
    assert Entry.objects.filter(object_id=5).count() == 2
