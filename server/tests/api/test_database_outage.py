"""The database going away: 503 with Retry-After (never a 500), one log line when the outage
starts and one when it ends, cached reads answered without it, and background work that retries
instead of failing."""

import dataclasses
import logging

import pytest
from django.db import InternalError, OperationalError, connections
from django.test import Client

from shop.api import outage
from shop.orders.models import Order
from shop.outbox.models import Entry
from shop.outbox.tasks import run_entry_task
from tests.helpers import assert_problem, work

pytestmark = [pytest.mark.memcached, pytest.mark.django_db(transaction=True)]

REFUSED = 'connection to server at "127.0.0.1", port 5432 failed: Connection refused'


@pytest.fixture
def database(monkeypatch):
    """`database.down()` makes every new use of the database fail as a refused connection does;
    `database.up()` brings it back."""
    wrapper = connections["default"]

    class Switch:
        def down(self):
            wrapper.close()

            def refused(*args, **kwargs):
                raise OperationalError(REFUSED)

            monkeypatch.setattr(wrapper, "ensure_connection", refused)

        def up(self):
            monkeypatch.undo()

    yield Switch()
    monkeypatch.undo()
    outage.database_connected()  # no outage leaks into the next test


def test_a_write_is_a_503_with_retry_after_and_changes_nothing(alice_client, lamp, database, settings):
    alice_client.get("/api/auth/me/")  # the user is cached: the refusal is the database's, not the token's
    database.down()
    response = alice_client.post(
        "/api/orders/", {"items": [{"product": lamp.pk, "quantity": 1}]}, format="json"
    )
    body = assert_problem(response, 503, "service_unavailable")
    assert response["Retry-After"] == str(settings.DATABASE_RETRY_AFTER)
    assert "try again in" in body["detail"]
    database.up()
    assert not Order.objects.exists()
    lamp.refresh_from_db()
    assert lamp.stock == 10


def test_an_uncached_read_is_a_503(alice_client, lamp, database):
    alice_client.get("/api/auth/me/")
    database.down()
    assert_problem(alice_client.get(f"/api/products/{lamp.pk}/"), 503, "service_unavailable")


def test_cached_reads_and_their_304s_keep_answering(alice_client, lamp, place, alice, database):
    order = place(alice, (lamp, 1))
    paths = [
        "/api/products/",
        "/api/products/?category=home",
        f"/api/products/{lamp.pk}/",
        f"/api/orders/{order.pk}/",
    ]
    tags = {path: alice_client.get(path)["ETag"] for path in paths}  # warms each body and the user
    database.down()
    for path in paths:
        response = alice_client.get(path)
        assert (response.status_code, response["X-Cache"]) == (200, "HIT"), path
        assert alice_client.get(path, HTTP_IF_NONE_MATCH=tags[path]).status_code == 304
    assert alice_client.get("/api/auth/me/").status_code == 200


def test_the_outage_is_logged_once_and_its_end_once(alice_client, lamp, database, caplog):
    alice_client.get("/api/auth/me/")
    database.down()
    with caplog.at_level(logging.INFO):
        for _ in range(3):
            alice_client.get(f"/api/products/{lamp.pk}/")
        database.up()
        assert alice_client.get(f"/api/products/{lamp.pk}/").status_code == 200
    messages = [record.getMessage() for record in caplog.records]
    assert sum("event=database_unavailable" in m for m in messages) == 1
    assert sum("event=database_available" in m for m in messages) == 1
    assert not any(record.exc_info for record in caplog.records)


def test_the_request_lines_of_the_outage_are_dropped_and_others_kept():
    lines = outage.OutageLines()
    record = logging.LogRecord("django.request", logging.ERROR, __file__, 1, "Service Unavailable", (), None)
    record.status_code = 503
    outage.database_unavailable(OperationalError(REFUSED))
    try:
        assert lines.filter(record) is False
        other = logging.LogRecord("shop.orders", logging.ERROR, __file__, 1, "event=x", (), None)
        assert lines.filter(other) is True
    finally:
        outage.database_connected()
    assert lines.filter(record) is True


def test_a_page_outside_the_api_is_a_503_too(staff, database):
    client = Client(raise_request_exception=False)  # as a server answers: the handler's response
    client.force_login(staff)
    database.down()
    assert_problem(client.get("/admin/"), 503, "service_unavailable")


class _Request:
    is_eager = False
    retries = 0


# The database gone, as a task meets it: directly, and through PgBouncer (a COMMIT whose server
# connection was killed: psycopg's InternalError, shop.core.errors.database_gone).
GONE = [
    lambda: OperationalError("terminating connection due to administrator command"),
    lambda: InternalError("received 2 results from command 'COMMIT'"),
]


@pytest.mark.parametrize("error", GONE, ids=["direct", "pooler"])
def test_a_task_that_meets_the_database_gone_retries_without_using_up_its_budget(
    place, alice, lamp, monkeypatch, settings, error
):
    order = place(alice, (lamp, 1))
    retried = {}

    def retry(*, exc, countdown):
        retried.update(exc=exc, countdown=countdown)
        return RuntimeError("retry")

    def gone(entry_id):
        raise error()

    task = run_entry_task
    monkeypatch.setattr(task, "retry", retry)
    monkeypatch.setattr(type(task), "request", _Request(), raising=False)
    monkeypatch.setattr("shop.outbox.runner.run", gone)
    attempts_before = work(order, "invoice").attempts
    with pytest.raises(RuntimeError, match="retry"):
        task.run(entry_id=work(order, "invoice").pk)
    assert type(retried["exc"]) is type(error())
    assert task.max_retries is None  # the entry bounds the attempts, and this one used none
    assert 0 < retried["countdown"] <= settings.DATABASE_RETRY_MAX_DELAY
    assert work(order, "invoice").attempts == attempts_before


@pytest.mark.parametrize("error", GONE, ids=["direct", "pooler"])
def test_the_database_gone_inside_an_attempt_is_not_the_works_failure(place, alice, lamp, monkeypatch, error):
    """The attempt's database error goes up to the task (which waits for the database), and is
    not written on the entry as the work's failure nor counted toward giving up."""
    from shop.outbox import kinds
    from shop.outbox.runner import run

    order = place(alice, (lamp, 1))
    entry = work(order, "invoice")
    Entry.objects.filter(pk=entry.pk).update(status="pending", error="", attempts=0, claimed_until=None)

    def gone(entry):
        raise error()

    monkeypatch.setitem(kinds._kinds, "invoice", dataclasses.replace(kinds.get("invoice"), run=gone))
    with pytest.raises(type(error())):
        run(entry.pk)
    after = work(order, "invoice")
    assert (after.status, after.error, after.attempts) == ("pending", "", 1)  # its claim lapses, no more


@pytest.mark.parametrize("error", GONE, ids=["direct", "pooler"])
def test_a_database_error_never_marks_the_work_failed(place, alice, lamp, error):
    order = place(alice, (lamp, 1))
    entry = work(order, "invoice")
    Entry.objects.filter(pk=entry.pk).update(status="pending", error="")
    run_entry_task.on_failure(error(), "id", (), {"entry_id": entry.pk}, None)
    assert (work(order, "invoice").status, work(order, "invoice").error) == ("pending", "")
    run_entry_task.on_failure(LookupError("no outbox kind 'gone'"), "id", (), {"entry_id": entry.pk}, None)
    assert Entry.objects.get(pk=entry.pk).error == "LookupError: no outbox kind 'gone'"


def test_a_committed_status_change_is_answered_without_the_database(
    client_for, staff, place, alice, lamp, database, monkeypatch
):
    """The answer to a change is read inside its transaction: PostgreSQL lost right after the
    commit cannot turn a change that was made into an error (it used to be a 500, and the retry
    a 409)."""
    from shop.orders import views

    order = place(alice, (lamp, 1))
    admin = client_for(staff)
    admin.get("/api/auth/me/")
    change = views.change_order_status

    def then_the_database_goes(**kwargs):
        changed = change(**kwargs)
        database.down()  # after the commit, before the answer
        return changed

    monkeypatch.setattr(views, "change_order_status", then_the_database_goes)
    response = admin.patch(f"/api/orders/{order.pk}/", {"status": "processing"}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "processing"
    database.up()
    order.refresh_from_db()
    assert order.status == "processing"


@pytest.mark.parametrize(
    ("message", "closed", "status"),
    [
        ("received 2 results from command 'COMMIT'", True, 503),  # the commit's server killed
        ("received 2 results from command 'BEGIN'", False, 503),  # no server to be had
        ("cursor already closed", True, 503),  # any database error that left it closed
        ("cursor already closed", False, 500),  # the same on a connection still open: a bug
    ],
)
def test_a_poolers_interjection_or_a_closed_connection_is_the_database_gone(
    alice_client, lamp, monkeypatch, message, closed, status
):
    """Through PgBouncer, a server connection killed, or not to be had, as a COMMIT or a BEGIN
    goes out answers the command and an error, which psycopg raises as InternalError ("received
    2 results from command ...", contract_tests/test_pgbouncer.py shows it), often on a
    connection closed by then: a 503 like any outage (the soak through PgBouncer saw 500s).
    Another such error on a connection still open is a bug, and stays a 500."""
    from django.db import connection

    from shop.orders import views

    def met_the_pooler(**kwargs):
        if closed:
            connection.connection.close()
        raise InternalError(message)

    monkeypatch.setattr(views, "place_order", met_the_pooler)
    alice_client.raise_request_exception = False
    order = {"items": [{"product": lamp.pk, "quantity": 1}]}
    response = alice_client.post("/api/orders/", order, format="json")
    connection.close()  # as Django does at the end of a request whose connection broke
    body = assert_problem(response, status, "service_unavailable" if status == 503 else "server_error")
    if status == 503:
        assert "read it back" in body["detail"]
