"""End to end with a real Celery worker process consuming from the real Redis: an order placed
through the API gets its PDF invoice and its e-mail record, and the worker logs each task."""

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from shop.invoices.models import Invoice, invoice_storage
from shop.invoices.services import invoice_name
from shop.outbox.models import Entry
from tests.helpers import wait_for

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]

SERVER = Path(__file__).resolve().parents[1]


def database_url() -> str:
    db = connection.settings_dict
    return f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.fixture
def worker(tmp_path, use_broker):
    """Starts `bin/worker` (the command `make worker` and Docker run) on a queue of its own."""
    from config.celery import app

    queue = f"shop-e2e-{uuid.uuid4().hex[:8]}"
    saved_queue = app.conf.task_default_queue
    app.conf.task_default_queue = queue
    use_broker(settings.CELERY_BROKER_URL)
    log = tmp_path / "worker.log"
    env = {
        **os.environ,
        "PYTHON": sys.executable,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": database_url(),
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "CELERY_RESULT_BACKEND": settings.CELERY_RESULT_BACKEND or "",
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "CELERY_TASK_DEFAULT_QUEUE": queue,
        "DJANGO_MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "EMAIL_URL": f"filemail://{tmp_path / 'mail'}",
        "LOG_LEVEL": "INFO",
        "WORKER_CONCURRENCY": "1",
    }
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(SERVER / "bin" / "worker")], cwd=SERVER, env=env, stdout=out, stderr=subprocess.STDOUT
        )
    try:
        wait_for(lambda: "ready" in log.read_text(), timeout=60, what="the worker to be ready")
        yield process, log, tmp_path / "mail"
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
        app.conf.task_default_queue = saved_queue


def test_a_real_worker_makes_the_invoice_and_sends_the_email(worker, client_for, alice, make_product):
    _process, log, mail_dir = worker
    product = make_product("Mug", price="9.90", stock=5)
    response = client_for(alice).post("/api/orders/", {"items": [{"product": product.pk, "quantity": 2}]})
    assert response.status_code == 201
    order_id = response.json()["id"]

    wait_for(
        lambda: Entry.objects.filter(kind="order_confirmation", object_id=order_id, status="done").exists(),
        timeout=60,
        what="the confirmation e-mail to be sent",
    )
    assert Entry.objects.get(kind="invoice", object_id=order_id).status == "done"
    assert Invoice.objects.filter(order_id=order_id).exists()
    with invoice_storage().open(invoice_name(order_id)) as file:
        assert file.read().startswith(b"%PDF")
    (message,) = list(mail_dir.iterdir())
    assert "invoice-order-" in message.read_text()
    text = log.read_text()
    for line in (  # one drain (the order's commit published it): the invoice's batch, then the e-mail's
        "event=task_started task=shop.outbox.tasks.drain task_id=",
        "event=task_succeeded task=shop.outbox.tasks.drain",
        "event=outbox_batch entries=1 done=1",
        f"event=invoice_rendered order_id={order_id} render_ms=",  # the worker's cost per order, visible
        f"event=email_sent order_id={order_id} send_ms=",
    ):
        assert line in text, f"{line!r} not in the worker log:\n{text}"
    assert f"order_id={order_id}" in text
    assert client_for(alice).get(f"/api/orders/{order_id}/report/").status_code == 200


def test_a_worker_keeps_its_database_connection_between_tasks(settings):
    """Celery's Django fixup closes the connection around every task unless CELERY_DB_REUSE_MAX is
    set (a new PostgreSQL session per task); ours keeps it, as long as it is usable and young."""
    from types import SimpleNamespace

    from celery.fixups.django import DjangoWorkerFixup

    from config.celery import _close_old_connections, app

    task = SimpleNamespace(request=SimpleNamespace(is_eager=False))
    fixup = DjangoWorkerFixup(app)
    connection.ensure_connection()
    kept = connection.connection
    for _ in range(5):
        fixup.on_task_prerun(sender=task)
        _close_old_connections(sender=task)
        fixup.on_task_postrun(sender=task)
        _close_old_connections(sender=task)
    assert connection.connection is kept

    # one older than CONN_MAX_AGE is closed before the next task, as before the next request
    connection.close_at = 0
    _close_old_connections(sender=task)
    assert connection.connection is None


def test_every_task_beat_schedules_is_registered(settings):
    """A renamed task would leave beat publishing a name no worker runs."""
    from config.celery import app

    app.loader.import_default_modules()  # what a worker does when it starts: autodiscover tasks.py
    scheduled = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert scheduled <= set(app.tasks), scheduled - set(app.tasks)
    assert "shop.outbox.tasks.resume_pending_work" in scheduled


@pytest.mark.django_db
def test_beat_purges_expired_idempotency_keys_as_a_task():
    from shop.orders.tasks import purge_idempotency_keys_task

    assert purge_idempotency_keys_task.apply().get() == 0
