"""Entries run in batches (shop.outbox.batch): a batch takes only ready first attempts, two
claimers never share an entry, a batch of any size costs the same statements on the outbox, each
entry keeps its own outcome (a failure is retried on the single path with its followers, a row
whose recording fails loses only its own rows), the batch's time bound releases what it did not
start, e-mails share one connection, and the sweeper takes back a dead batch's entries."""

import contextlib
from datetime import timedelta

import pytest
from django.core import mail
from django.core.mail.backends.locmem import EmailBackend as LocmemBackend
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from shop.core.mail import send, shared_connection
from shop.invoices.models import Invoice, invoice_storage
from shop.orders.services import place_order
from shop.outbox.batch import claim_batch, drain, run_batch
from shop.outbox.kinds import Kind, Outcome, TryAgain
from shop.outbox.models import Entry
from shop.outbox.publish import owe, publish_on_commit
from shop.outbox.sweeper import resume_pending_work
from tests.helpers import ADDRESS, race, statement, work

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def echo(register_kind, settings):
    settings.ECHO_MAX_RETRIES, settings.ECHO_RETRY_BACKOFF = 2, 0.5
    return register_kind(Kind("echo", run=lambda entry: Outcome(), settings_prefix="ECHO"))


@pytest.fixture
def published(monkeypatch):
    """What the batch publishes (retries on the single path): (refs, stamped, countdown) per call."""
    calls = []

    def publish(refs, *, stamped=False, countdown=None):
        calls.append(([(ref.kind, ref.object_id) for ref in refs], stamped, countdown))
        return True

    monkeypatch.setattr("shop.outbox.batch.publish", publish)
    return calls


@pytest.fixture
def unpublished(monkeypatch):
    """Orders placed with their work owed and not published: left for a drain to take."""
    monkeypatch.setattr("shop.orders.services.publish_on_commit", lambda *entries: None)


def place(user, product, n: int = 1):
    orders = []
    for _ in range(n):
        with transaction.atomic():
            order, _ = place_order(
                user=user, items=[{"product": product.pk, "quantity": 1}], shipping_address=ADDRESS
            )
        orders.append(order)
    return orders


@pytest.fixture(params=["one statement", "orm"])
def claim_path(request, monkeypatch):
    """Both ways a batch is claimed: PostgreSQL's one statement, and the ORM's for other
    databases (run here on PostgreSQL, where it locks and skips just the same)."""
    from shop.outbox import batch

    if request.param == "orm":
        monkeypatch.setattr(batch, "_claimed_in_one_statement", batch._claimed_by_the_orm)
    return request.param


def test_a_batch_takes_only_ready_first_attempts_oldest_first(echo, register_kind, claim_path):
    fresh = [owe("echo", n) for n in range(5)]
    follower = owe("echo", 10, after=fresh[0])  # waits for a pending entry
    retried = owe("echo", 11)
    Entry.objects.filter(pk=retried.pk).update(attempts=1)  # a retry: the single path's
    held = owe("echo", 12)
    Entry.objects.filter(pk=held.pk).update(claimed_until=timezone.now() + timedelta(minutes=1))
    done = owe("echo", 13)
    Entry.objects.filter(pk=done.pk).update(status="done")
    Entry.objects.create(kind="not-registered-here", object_id=1)  # a newer worker's kind

    claimed = claim_batch(4)
    assert [e.pk for e in claimed] == [e.pk for e in fresh[:4]]
    assert all(e.attempts == 1 and e.claimed_until > timezone.now() for e in claimed)
    stored = {
        e.pk: (e.attempts, e.claimed_until) for e in Entry.objects.filter(pk__in=[e.pk for e in claimed])
    }
    assert stored == {e.pk: (1, e.claimed_until) for e in claimed}  # committed
    assert [e.pk for e in claim_batch(10)] == [fresh[4].pk]
    assert claim_batch(10) == []  # the follower waits for fresh[0], still claimed
    Entry.objects.filter(pk=fresh[0].pk).update(status="done", claimed_until=None)
    assert [e.pk for e in claim_batch(10)] == [follower.pk]


def test_racing_batches_never_share_an_entry(echo, claim_path):
    entries = {owe("echo", n).pk for n in range(40)}
    results = race([lambda: claim_batch(15) for _ in range(4)])
    claimed = [e.pk for result in results for e in result]
    assert len(claimed) == len(set(claimed)) == 40 and set(claimed) == entries
    assert set(Entry.objects.values_list("attempts", flat=True)) == {1}


def test_each_entry_keeps_its_own_outcome(register_kind, settings, published):
    settings.ECHO_MAX_RETRIES, settings.ECHO_RETRY_BACKOFF = 2, 0.5
    settings.ONCE_MAX_RETRIES, settings.ONCE_RETRY_BACKOFF = 0, 0.5

    def run(entry):
        match entry.object_id:
            case 1:
                return Outcome()
            case 2:
                return Outcome("skipped", "nothing to do")
            case 3:
                return Outcome("failed", "refused for good")
            case 4:
                raise TryAgain("partner down")
            case _:
                raise ValueError("poisoned")

    register_kind(Kind("echo", run=run, settings_prefix="ECHO"))
    register_kind(Kind("once", run=run, settings_prefix="ONCE"))  # a single attempt
    entries = [owe("echo", n) for n in (1, 2, 3, 4, 5)] + [owe("once", 6)]
    follower = owe("echo", 7, after=entries[3])
    outcomes = {r.entry.object_id: r.outcome for r in run_batch(claim_batch(10))}
    assert outcomes == {1: "done", 2: "skipped", 3: "refused", 4: "retried", 5: "retried", 6: "failed"}
    stored = {e.object_id: (e.status, e.attempts, e.error, e.claimed_until) for e in Entry.objects.all()}
    assert stored == {
        1: ("done", 1, "", None),
        2: ("skipped", 1, "nothing to do", None),
        3: ("failed", 1, "refused for good", None),
        4: ("pending", 1, "partner down", None),
        5: ("pending", 1, "ValueError: poisoned", None),
        6: ("failed", 1, "ValueError: poisoned", None),
        7: ("pending", 0, "", None),
    }
    # the retries go to the single path after their backoff (0.5 * 2^0 plus jitter), a retried
    # entry with the entries that run after it; a failed one is not retried
    assert sorted((refs, stamped) for refs, stamped, _ in published) == [
        ([("echo", 4), ("echo", 7)], True),
        ([("echo", 5)], True),
    ]
    assert all(0.5 <= countdown <= 1.0 for _, _, countdown in published)
    assert follower.pk not in {e.pk for e in claim_batch(10)}  # it waits for its retried entry


def test_a_row_that_cannot_be_recorded_loses_only_its_own(register_kind, settings, published):
    settings.ECHO_MAX_RETRIES, settings.ECHO_RETRY_BACKOFF = 2, 0.5

    def record_for(entry):
        def record():  # the kind's own row (a note); the second one breaks a real constraint
            if entry.object_id == 2:
                Entry.objects.create(kind="echo", object_id=2)  # a second pending one: refused
            Entry.objects.create(kind="note", object_id=entry.object_id, status="done")

        return record

    register_kind(Kind("echo", run=lambda entry: Outcome(record=record_for(entry)), settings_prefix="ECHO"))
    [owe("echo", n) for n in (1, 2, 3)]
    results = run_batch(claim_batch(10))
    assert {r.entry.object_id: r.outcome for r in results} == {1: "done", 2: "retried", 3: "done"}
    stored = {e.object_id: (e.status, e.attempts, e.error[:59]) for e in Entry.objects.filter(kind="echo")}
    assert stored == {
        1: ("done", 1, ""),
        2: ("pending", 1, "recording the outcome failed: IntegrityError: duplicate key"),
        3: ("done", 1, ""),
    }
    assert sorted(Entry.objects.filter(kind="note").values_list("object_id", flat=True)) == [1, 3]
    assert [refs for refs, _, _ in published] == [[("echo", 2)]]


def test_an_invoice_whose_order_went_during_its_batch_loses_only_its_own_row(
    alice, make_product, unpublished, published, monkeypatch
):
    """The batch's invoices are one upsert: one refused (its order deleted while it rendered; the
    foreign key is checked at the commit) settles the batch entry by entry, and only its entry
    is retried."""
    from shop.invoices import services
    from shop.orders.models import Order

    orders = place(alice, make_product("Mug", stock=100), 3)
    gone = orders[1].pk
    render = services.render_invoice

    def render_and_delete(order):
        if order.pk == gone:
            Order.objects.filter(pk=gone).delete()
        return render(order)

    monkeypatch.setattr(services, "render_invoice", render_and_delete)
    results = run_batch(claim_batch(3))
    assert {r.entry.object_id: r.outcome for r in results} == {
        orders[0].pk: "done",
        gone: "retried",
        orders[2].pk: "done",
    }
    assert sorted(Invoice.objects.values_list("order_id", flat=True)) == [orders[0].pk, orders[2].pk]
    assert work(gone, "invoice").error.startswith("recording the outcome failed: IntegrityError")


def test_a_batch_past_its_time_releases_what_it_did_not_start(register_kind, settings, published):
    import time

    settings.ECHO_MAX_RETRIES, settings.ECHO_RETRY_BACKOFF = 2, 0.5
    settings.OUTBOX_BATCH_SECONDS = 0.15

    def slow(entry):
        time.sleep(0.1)
        return Outcome()

    register_kind(Kind("echo", run=slow, settings_prefix="ECHO"))
    [owe("echo", n) for n in range(5)]
    outcomes = [r.outcome for r in run_batch(claim_batch(10))]
    assert outcomes == ["done", "done", "released", "released", "released"]
    stored = sorted(Entry.objects.values_list("object_id", "status", "attempts", "claimed_until"))
    assert stored == [(0, "done", 1, None), (1, "done", 1, None)] + [
        (n, "pending", 0, None) for n in (2, 3, 4)
    ]
    assert published == []
    assert len(claim_batch(10)) == 3  # released: ready again, with no attempt used


def test_a_drain_runs_orders_invoices_then_their_emails_in_batches(
    alice, make_product, unpublished, settings
):
    settings.OUTBOX_BATCH_SIZE = 10
    orders = place(alice, make_product("Mug", stock=100), 12)
    drained = drain()
    # invoices 10 + 2, then the e-mails (ready once their invoices are settled) 10 + 2
    assert drained.batches == 4 and dict(drained.outcomes) == {"done": 24}
    for order in orders:
        assert work(order, "invoice").status == work(order, "order_confirmation").status == "done"
        with invoice_storage().open(Invoice.objects.get(order=order).file) as file:
            assert file.read().startswith(b"%PDF")
    assert sorted(m.subject for m in mail.outbox) == sorted(
        f"Example Shop: order #{o.pk} confirmed" for o in orders
    )
    assert all(len(m.attachments) == 1 for m in mail.outbox)
    assert drain().batches == 0


def test_a_batch_of_any_size_costs_two_statements_on_the_outbox(alice, make_product, unpublished, settings):
    """The claim (the ready entries locked and their attempts counted, in one statement) and the
    settle: the same two statements on outbox_entry for 1 or 20 entries (one after the other, 20
    entries cost 40), two commits, one read of the orders and their lines (shop.outbox.preload)
    and one upsert of their invoices."""
    product = make_product("Mug", stock=100)
    for n in (1, 20):
        place(alice, product, n)
        with CaptureQueriesContext(connection) as queries:
            run_batch(claim_batch(50))
        statements = [statement(q["sql"]) for q in queries.captured_queries]
        on_outbox = [s for s in statements if "outbox_entry" in s]
        assert on_outbox == ["UPDATE outbox_entry", "UPDATE outbox_entry"], n
        assert "FOR UPDATE SKIP LOCKED" in queries.captured_queries[1]["sql"], n
        assert statements.count("COMMIT") == 2, n
        assert statements.count("SELECT orders_order") == statements.count("SELECT orders_orderitem") == 1, n
        assert statements.count("INSERT invoices_invoice") == 1, n  # the batch's invoices: one upsert
        drain()


def test_a_batch_drops_its_orders_cached_details_in_one_round_trip(
    alice, make_product, unpublished, settings, monkeypatch
):
    from shop.core import cache

    orders = place(alice, make_product("Mug", stock=100), 5)
    bumped = []
    monkeypatch.setattr(cache, "_bump_many", bumped.append)
    run_batch(claim_batch(5))
    assert bumped == [tuple(f"orders:detail:{order.pk}:version" for order in orders)]


class CountingBackend(LocmemBackend):
    opened = 0

    def open(self):
        if getattr(self, "_open", False):
            return False
        CountingBackend.opened += 1
        self._open = True
        return True

    def close(self):
        self._open = False

    def send_messages(self, messages):  # as SMTP's: opens if needed, closes what it opened
        opened = self.open()
        try:
            if any("explode" in m.subject for m in messages):
                raise ConnectionResetError("the server hung up")
            return super().send_messages(messages)
        finally:
            if opened:
                self.close()


def test_a_batch_of_emails_shares_one_connection_and_a_failure_opens_a_new_one(settings):
    from django.core.mail import EmailMessage

    settings.EMAIL_BACKEND = "tests.outbox.test_batch.CountingBackend"
    CountingBackend.opened = 0
    with shared_connection():
        for subject in ("one", "two", "explode", "three", "four"):
            with contextlib.suppress(ConnectionResetError):
                send(EmailMessage(subject=subject, to=["a@example.com"]))
    assert [m.subject for m in mail.outbox] == ["one", "two", "three", "four"]
    assert CountingBackend.opened == 2  # one for the batch, one after the failure
    send(EmailMessage(subject="alone", to=["a@example.com"]))  # outside a batch: its own
    assert CountingBackend.opened == 3


def test_the_sweeper_publishes_a_dead_batchs_entries_whatever_the_queue_holds(echo, monkeypatch):
    published = []
    monkeypatch.setattr("shop.outbox.sweeper.queue_backlog", lambda: 500)  # a long queue
    monkeypatch.setattr("shop.outbox.sweeper.publish", lambda run: published.append(run) or True)
    [owe("echo", n) for n in range(3)]
    claim_batch(10)  # ... and the worker dies
    assert resume_pending_work()["echo"] == 0  # leased: the batch may still be running
    later = timezone.now() + timedelta(hours=1)  # the lease has run out
    assert resume_pending_work(now=later)["echo"] == 3
    assert sorted(run[0].object_id for run in published) == [0, 1, 2]


def test_a_commit_publishes_a_drain_unless_one_is_waiting(
    echo, use_broker, monkeypatch, django_capture_on_commit_callbacks, settings
):
    from django.core.cache import caches

    from shop.outbox.publish import drain_started

    sent = []
    monkeypatch.setattr("shop.outbox.publish.drain_task.apply_async", lambda *a, **k: sent.append(k))
    use_broker(settings.CELERY_BROKER_URL)

    def commit(*object_ids):
        with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
            entries = [owe("echo", n) for n in object_ids]
            publish_on_commit(*entries)
        return entries

    commit(1, 2)
    assert sent == [{"countdown": settings.OUTBOX_DRAIN_DELAY}]  # one message, starting a little later
    commit(3)
    assert len(sent) == 1  # a drain is waiting to start: it will take entry 3 too
    drain_started()  # ... it starts (and claims after this)
    commit(4)
    assert len(sent) == 2  # the next commit needs a drain of its own
    assert all(e.enqueued_at is not None for e in Entry.objects.all())

    drain_started()

    def down(*args, **kwargs):
        raise ConnectionRefusedError("no broker")

    monkeypatch.setattr("shop.outbox.publish.drain_task.apply_async", down)
    (fifth,) = commit(5)
    fifth.refresh_from_db()
    assert fifth.enqueued_at is None  # the sweeper takes it
    monkeypatch.setattr("shop.outbox.publish.drain_task.apply_async", lambda *a, **k: sent.append(k))
    commit(6)
    assert len(sent) == 3  # the failed publish left no drain marked as waiting

    def lost(*args, **kwargs):
        raise ConnectionRefusedError("memcached is gone")

    monkeypatch.setattr(caches["outbox"], "add", lost)
    commit(7)
    commit(8)
    assert len(sent) == 5  # Memcached lost: a drain per commit

    settings.OUTBOX_BATCH_SIZE = 0  # batches off: one message per entry, as before
    runs = []
    monkeypatch.setattr(
        "shop.outbox.publish.run_entry_task.si", lambda **kwargs: runs.append(kwargs) or _Sig()
    )
    commit(9)
    assert [r["object_id"] for r in runs] == [9] and len(sent) == 5

    settings.OUTBOX_BATCH_SIZE, settings.OUTBOX_DRAIN_DELAY = 50, 0  # no delay: a drain at once
    commit(10)
    assert sent[-1] == {"countdown": None}


class _Sig:
    def apply_async(self, **kwargs):
        return None


def test_the_database_gone_mid_batch_hands_each_entry_to_the_single_path(
    register_kind, settings, monkeypatch
):
    from django.db import OperationalError

    settings.ECHO_MAX_RETRIES, settings.ECHO_RETRY_BACKOFF = 2, 0.5

    def gone(entry):
        if entry.object_id == 2:
            raise OperationalError("terminating connection due to administrator command")
        return Outcome()

    register_kind(Kind("echo", run=gone, settings_prefix="ECHO"))
    handed = []
    hand = lambda kwargs, countdown: handed.append((kwargs, countdown))  # noqa: E731
    monkeypatch.setattr("shop.outbox.batch.run_entry_task.apply_async", hand)
    [owe("echo", n) for n in (1, 2, 3)]
    claimed = claim_batch(10)
    with pytest.raises(OperationalError):
        run_batch(claimed)
    # nothing recorded: all three stay claimed, each handed on for when its lease ends
    assert set(Entry.objects.values_list("status", "attempts")) == {("pending", 1)}
    assert sorted(kwargs["object_id"] for kwargs, _ in handed) == [1, 2, 3]
    lease_left = (claimed[0].claimed_until - timezone.now()).total_seconds()
    assert all(lease_left <= countdown <= lease_left + 1.5 for _, countdown in handed)


def test_a_single_run_that_settles_an_entry_wakes_a_drain_for_its_followers(
    echo, use_broker, monkeypatch, settings
):
    from shop.outbox.runner import run

    woken = []
    monkeypatch.setattr("shop.outbox.publish.wake", lambda *args: woken.append(args) or True)
    use_broker(settings.CELERY_BROKER_URL)
    lone, invoice = owe("echo", 1), owe("echo", 2)
    owe("echo", 3, after=invoice)
    assert run(lone.pk).status == "done" and woken == []  # nothing waits for it
    assert run(invoice.pk).status == "done" and woken == [()]  # its follower is ready now


def test_each_entry_runs_under_the_request_id_that_owed_it(register_kind, settings, caplog):
    import logging

    from django_guid import clear_guid, get_guid, set_guid

    seen = {}
    register_kind(
        Kind(
            "echo",
            run=lambda entry: seen.update({entry.object_id: get_guid()}) or Outcome(),
            settings_prefix="ECHO",
        )
    )
    settings.ECHO_MAX_RETRIES, settings.ECHO_RETRY_BACKOFF = 2, 0.5
    for n, request in ((1, "req-one"), (2, "req-two"), (3, None)):
        set_guid(request) if request else clear_guid()
        owe("echo", n)
    set_guid("the-drains-own")
    with caplog.at_level(logging.INFO, logger="shop.outbox.batch"):
        run_batch(claim_batch(10))
    assert seen == {1: "req-one", 2: "req-two", 3: "the-drains-own"}  # none owed it: the drain's
    assert get_guid() == "the-drains-own"  # restored after each
    runs = [r.getMessage() for r in caplog.records if "event=outbox_run" in r.getMessage()]
    assert len(runs) == 3 and all("outcome=done" in line for line in runs)
    clear_guid()


def test_the_drain_task_clears_the_waiting_mark_runs_what_is_ready_and_waits_out_the_database(
    echo, monkeypatch, settings
):
    from django.core.cache import caches
    from django.db import OperationalError

    from shop.outbox.publish import DRAIN_WAITING
    from shop.outbox.tasks import drain_task

    settings.OUTBOX_BATCH_SIZE, settings.OUTBOX_DRAIN_DELAY = 2, 0
    [owe("echo", n) for n in range(3)]
    caches["outbox"].add(DRAIN_WAITING, 1, timeout=60)
    woken = []
    monkeypatch.setattr("shop.outbox.publish.wake", lambda *args: woken.append(args) or True)
    assert drain_task.run() == {"batches": 2, "done": 3}
    assert caches["outbox"].get(DRAIN_WAITING) is None  # commits from its start publish anew
    assert woken == [()]  # the first batch came back full: another drain to share the rest
    assert set(Entry.objects.values_list("status", flat=True)) == {"done"}

    retried = {}

    def retry(*, exc, countdown):
        retried.update(exc=exc, countdown=countdown)
        return RuntimeError("retry")

    def gone(**kwargs):
        raise OperationalError("the database system is shutting down")

    class Request:
        is_eager, retries = False, 3

    monkeypatch.setattr("shop.outbox.batch.drain", gone)
    monkeypatch.setattr(drain_task, "retry", retry)
    monkeypatch.setattr(type(drain_task), "request", Request(), raising=False)
    with pytest.raises(RuntimeError, match="retry"):
        drain_task.run()
    assert isinstance(retried["exc"], OperationalError)
    assert 0 < retried["countdown"] <= settings.DATABASE_RETRY_MAX_DELAY


def test_a_drain_that_claims_a_short_batch_ends_and_wakes_a_later_one_for_what_became_ready(
    echo, monkeypatch, settings
):
    from shop.outbox.tasks import drain_task

    woken = []
    monkeypatch.setattr("shop.outbox.publish.wake", lambda *args: woken.append(args) or True)
    settings.OUTBOX_BATCH_SIZE, settings.OUTBOX_DRAIN_DELAY = 3, 0.25
    first, second = owe("echo", 1), owe("echo", 2)
    owe("echo", 3, after=first)  # ready only once `first` is settled
    owe("echo", 4, after=second)
    assert drain_task.run() == {"batches": 1, "done": 2}  # 2 of 3: short, so the drain ends ...
    assert woken == [()]  # ... and wakes one for later, which takes the followers
    assert drain_task.run() == {"batches": 1, "done": 2}
    assert woken == [(), ()]
    assert drain_task.run() == {"batches": 0}  # nothing was ready: no more wakes
    assert woken == [(), ()]
    [owe("echo", n) for n in (5, 6, 7, 8)]
    assert drain_task.run() == {"batches": 2, "done": 4}  # a full batch goes on at once
    assert woken == [(), (), (), ()]  # the full one's (for another process) and the short one's
    assert set(Entry.objects.values_list("status", flat=True)) == {"done"}

    settings.OUTBOX_DRAIN_DELAY = 0  # no delay: one drain takes the followers too
    owe("echo", 10, after=owe("echo", 9))
    assert drain_task.run() == {"batches": 2, "done": 2} and len(woken) == 4

    settings.OUTBOX_DRAIN_DELAY = 0.25
    refused = []  # the broker refuses the later drain: this one takes the followers itself
    monkeypatch.setattr("shop.outbox.publish.wake", lambda *args: refused.append(args) and False)
    owe("echo", 12, after=owe("echo", 11))
    assert drain_task.run() == {"batches": 2, "done": 2} and refused == [(), ()]
    assert set(Entry.objects.values_list("status", flat=True)) == {"done"}


def test_a_batch_context_that_fails_costs_only_what_it_would_have_shared(register_kind, settings, caplog):
    from contextlib import contextmanager

    settings.ECHO_MAX_RETRIES, settings.ECHO_RETRY_BACKOFF = 2, 0.5

    @contextmanager
    def refuses_to_open(entries):
        raise ConnectionRefusedError("the mail server is down")
        yield

    @contextmanager
    def refuses_to_close(entries):
        yield
        raise ConnectionResetError("the mail server hung up on QUIT")

    register_kind(Kind("echo", run=lambda entry: Outcome(), settings_prefix="ECHO", batch=refuses_to_open))
    register_kind(Kind("ohce", run=lambda entry: Outcome(), settings_prefix="ECHO", batch=refuses_to_close))
    [owe(kind, n) for kind in ("echo", "ohce") for n in (1, 2)]
    assert [r.outcome for r in run_batch(claim_batch(10))] == ["done"] * 4
    assert set(Entry.objects.values_list("status", flat=True)) == {"done"}
    assert caplog.text.count("event=outbox_batch_context_failed") == 2


def test_upserts_of_a_batch_are_one_statement_in_which_the_last_row_for_a_key_wins(
    alice, make_product, unpublished
):
    """`write_records`: the upserts of one model and fields are one INSERT ... ON CONFLICT (two
    for one key would be refused by PostgreSQL in one statement: the later one is kept, as one by
    one), their `then` one call with every key after the commit; any other record is called."""
    from shop.orders.models import Order
    from shop.outbox.kinds import Upsert, write_records

    orders = place(alice, make_product("Mug", stock=100), 2)
    Invoice.objects.create(order=orders[1], file="old.pdf", generated_at=timezone.now())
    dropped, called = [], []

    def drop(*order_ids: int) -> None:
        dropped.append(order_ids)

    def upsert(order: Order, file: str) -> Upsert:
        row = Invoice(order=order, file=file, generated_at=timezone.now())
        return Upsert(row, ("order",), ("file",), then=drop)

    records = [upsert(orders[0], "a1.pdf"), lambda: called.append(1), upsert(orders[1], "b.pdf")]
    with CaptureQueriesContext(connection) as queries, transaction.atomic():
        write_records([*records, upsert(orders[0], "a2.pdf")])
        assert dropped == []  # not before the commit
    assert [statement(q["sql"]) for q in queries.captured_queries].count("INSERT invoices_invoice") == 1
    assert dict(Invoice.objects.values_list("order_id", "file")) == {
        orders[0].pk: "a2.pdf",
        orders[1].pk: "b.pdf",
    }
    assert called == [1]
    assert dropped == [(orders[1].pk, orders[0].pk)]
    with transaction.atomic():
        upsert(orders[1], "c.pdf")()  # alone, as a single entry's settle calls it
    assert Invoice.objects.get(order=orders[1]).file == "c.pdf" and dropped[-1] == (orders[1].pk,)
