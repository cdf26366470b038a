"""The move of today's order work into outbox entries (outbox 0002 and the domain migrations after
it), on PostgreSQL, from a database holding pending, claimed, failed and done rows of every kind:
not one row lost, every state, attempt, error, claim, requeue and time kept."""

from datetime import timedelta

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

BEFORE = [
    ("accounts", "0002_logged_out_tokens"),
    ("catalog", "0001_initial"),
    ("orders", "0004_order_total_indexes"),
    ("outbox", None),
    ("invoices", "0002_outbox_claims_and_failures"),
    ("notifications", "0002_outbox_claims_and_failures"),
    ("shipping", "0002_outbox_claims_and_failures"),
]
AFTER = [
    ("outbox", "0002_move_order_work"),
    ("invoices", "0003_invoice_work_in_outbox"),
    ("notifications", "0003_emails_in_outbox"),
    ("shipping", "0003_notices_in_outbox"),
]
# per kind: the old statuses, in the order of the orders below, and what each becomes
STATES = ["pending", "pending", "failed", "done"]  # the second one is claimed by a running attempt
OLD = {
    "invoice": ["pending", "pending", "failed", "ready"],
    "order_confirmation": ["pending", "pending", "failed", "sent"],
    "shipping_notice": ["pending", "pending", "failed", "sent"],
}


def migrate(targets):
    """Migrates the test database to `targets` (back or forth); returns the models as they are there."""
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    return executor.loader.project_state([target for target in targets if target[1] is not None])


@pytest.fixture
def migrated_back():
    try:
        yield migrate(BEFORE)
    finally:  # the latest again, for the next test
        migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())


def test_every_row_of_every_kind_and_state_becomes_an_entry(migrated_back):
    old = migrated_back
    User = old.apps.get_model("accounts", "User")
    Product = old.apps.get_model("catalog", "Product")
    Order = old.apps.get_model("orders", "Order")
    Invoice = old.apps.get_model("invoices", "Invoice")
    Email = old.apps.get_model("notifications", "EmailNotification")
    Notice = old.apps.get_model("shipping", "ShippingNotification")
    Attempt = old.apps.get_model("shipping", "ShippingAttempt")

    now = timezone.now()
    alice = User.objects.create(username="alice", email="alice@example.com")
    product = Product.objects.create(name="Lamp", price="20.00", stock=5, category="home")
    orders = [Order.objects.create(user=alice, total_price="20.00", currency="EUR") for _ in STATES]
    assert product.pk
    expected = {}
    for index, order in enumerate(orders):
        row = {
            "attempts": index + 1,
            "error": f"error {index}" if index else "",
            "claimed_until": now + timedelta(minutes=5) if index == 1 else None,
            "requeues": index % 2,
            "requeued_at": now - timedelta(minutes=index) if index % 2 else None,
            "enqueued_at": now - timedelta(minutes=10 + index),
        }
        done = now - timedelta(seconds=index)
        Invoice.objects.create(
            order=order,
            status=OLD["invoice"][index],
            file=f"invoices/order-{order.pk}.pdf" if index == 3 else "",
            generated_at=done if index == 3 else None,
            **row,
        )
        Email.objects.create(
            order=order,
            kind="order_confirmation",
            recipient="alice@example.com",
            subject="confirmed",
            status=OLD["order_confirmation"][index],
            sent_at=done if index == 3 else None,
            **row,
        )
        notice = Notice.objects.create(
            order=order,
            status=OLD["shipping_notice"][index],
            completed_at=done if index == 3 else None,
            **row,
        )
        Attempt.objects.create(notification=notice, attempt=1, status_code=503 if index else None)
        for kind in OLD:
            expected[(kind, order.pk)] = {
                **row,
                "status": STATES[index],
                "settled_at": done if index == 3 else None,
            }
    created = {order.pk: Invoice.objects.get(order=order).created_at for order in orders}

    new = migrate(AFTER)
    Entry = new.apps.get_model("outbox", "Entry")
    entries = {(entry.kind, entry.object_id): entry for entry in Entry.objects.all()}
    assert set(entries) == set(expected)  # 12 rows, 12 entries: one per kind and order
    for key, fields in expected.items():
        entry = entries[key]
        for name, value in fields.items():
            assert getattr(entry, name) == value, (key, name)
        if key[0] == "invoice":
            assert entry.created_at == created[key[1]]
    for order in orders:  # each e-mail still runs after its order's invoice
        assert entries[("order_confirmation", order.pk)].after_id == entries[("invoice", order.pk)].pk
    NewInvoice = new.apps.get_model("invoices", "Invoice")
    assert list(NewInvoice.objects.values_list("order_id", "file")) == [
        (orders[3].pk, f"invoices/order-{orders[3].pk}.pdf")
    ]  # only the written PDF remains an invoice row
    NewAttempt = new.apps.get_model("shipping", "ShippingAttempt")
    assert sorted(NewAttempt.objects.values_list("order_id", "status_code")) == sorted(
        (order.pk, 503 if index else None) for index, order in enumerate(orders)
    )
