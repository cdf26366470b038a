"""Invoices in S3-compatible object storage (INVOICE_STORAGE_BUCKET), against a real S3 API server
in a process of its own (moto's emulator, contract_tests.services.S3Emulator): stored by the
worker's attempt, streamed by the report endpoint, attached to the e-mail; a store that stops
answering costs an attempt (retried, nothing recorded as ready) or a 503, never a 500 or a hang."""

import logging

import boto3
import pytest
from django.core import mail

from contract_tests.services import S3Emulator
from shop.invoices.models import Invoice, invoice_storage
from shop.invoices.services import invoice_name
from shop.outbox.models import Entry
from shop.outbox.runner import RetryLater
from tests.helpers import assert_problem, do_work, work
from tests.invoices.test_invoice import pdf_text

BUCKET = "shop-invoices"
TIMEOUT = 1.0  # seconds per try (INVOICE_STORAGE_TIMEOUT): botocore tries twice

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def emulator():
    server = S3Emulator()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def bucket(emulator, settings, monkeypatch):
    """A fresh, private bucket on the emulator, and STORAGES["invoices"] pointing at it as
    INVOICE_STORAGE_BUCKET and INVOICE_STORAGE_ENDPOINT_URL would."""
    from shop.core.storage import s3_storage

    for name, value in {
        "AWS_ACCESS_KEY_ID": "shop-test",
        "AWS_SECRET_ACCESS_KEY": "shop-test-secret",
        "AWS_EC2_METADATA_DISABLED": "true",  # never ask a metadata service for credentials
    }.items():
        monkeypatch.setenv(name, value)
    s3 = boto3.client("s3", endpoint_url=emulator.url, region_name="us-east-1")
    s3.create_bucket(Bucket=BUCKET)
    settings.STORAGES = {
        **settings.STORAGES,
        "invoices": s3_storage(bucket=BUCKET, endpoint_url=emulator.url, region="us-east-1", timeout=TIMEOUT),
    }
    yield s3
    for item in s3.list_objects_v2(Bucket=BUCKET).get("Contents", []):
        s3.delete_object(Bucket=BUCKET, Key=item["Key"])
    s3.delete_bucket(Bucket=BUCKET)


@pytest.fixture
def order(place, alice, make_product):
    return place(alice, (make_product("Mechanical keyboard", price="89.90", stock=5), 2))


def test_the_invoice_is_an_object_in_the_bucket(bucket, order):
    assert type(invoice_storage()).__name__ == "S3Storage"
    assert do_work(order, "invoice").status == "done"
    assert Invoice.objects.get(order=order).file == f"invoices/order-{order.pk}.pdf"
    stored = bucket.get_object(Bucket=BUCKET, Key=f"invoices/order-{order.pk}.pdf")
    assert "Mechanical keyboard" in pdf_text(stored["Body"].read())
    # Written again (a requeue), it replaces its object: one key, never order-N_abc123.pdf.
    Entry.objects.filter(kind="invoice").update(status="pending")
    do_work(order, "invoice")
    keys = [item["Key"] for item in bucket.list_objects_v2(Bucket=BUCKET)["Contents"]]
    assert keys == [f"invoices/order-{order.pk}.pdf"]


def test_the_report_streams_the_object_to_its_owner(
    bucket, order, alice, bob, client_for, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        do_work(order, "invoice")
    response = client_for(alice).get(f"/api/orders/{order.pk}/report/")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == f'attachment; filename="invoice-order-{order.pk}.pdf"'
    content = b"".join(response.streaming_content)
    assert int(response["Content-Length"]) == len(content)
    assert "Mechanical keyboard" in pdf_text(content)
    assert_problem(client_for(bob).get(f"/api/orders/{order.pk}/report/"), 404, "not_found")
    # An object gone from the bucket reads as not generated, as a file gone from disk does.
    bucket.delete_object(Bucket=BUCKET, Key=invoice_name(order.pk))
    assert_problem(client_for(alice).get(f"/api/orders/{order.pk}/report/"), 404, "not_found")


def test_the_confirmation_attaches_the_object(bucket, order):
    do_work(order, "invoice")
    assert do_work(order, "order_confirmation").status == "done"
    [message] = mail.outbox
    [(filename, content, mimetype)] = message.attachments
    assert (filename, mimetype) == (f"invoice-order-{order.pk}.pdf", "application/pdf")
    assert "Mechanical keyboard" in pdf_text(content)


def test_a_store_that_stops_answering_costs_an_attempt_and_nothing_is_ready(
    bucket, emulator, order, alice, client_for, django_capture_on_commit_callbacks
):
    emulator.pause()
    try:
        with pytest.raises(RetryLater):
            do_work(order, "invoice")
        entry = work(order, "invoice")
        assert (entry.status, entry.attempts) == ("pending", 1)
        assert "timeout" in entry.error.lower(), entry.error
        assert not Invoice.objects.filter(order=order).exists()  # nothing recorded that is not stored
        body = client_for(alice).get(f"/api/orders/{order.pk}/").json()
        assert body["report_url"] is None
        # The e-mail waits for the invoice's entry to settle; it does not go out without it.
        assert do_work(order, "order_confirmation") is None and mail.outbox == []
    finally:
        emulator.resume()
    with django_capture_on_commit_callbacks(execute=True):
        assert do_work(order, "invoice").status == "done"  # the retry, once the store answers
    assert work(order, "invoice").attempts == 2
    assert client_for(alice).get(f"/api/orders/{order.pk}/").json()["report_url"]
    bucket.head_object(Bucket=BUCKET, Key=invoice_name(order.pk))


def test_the_report_is_a_503_while_the_store_does_not_answer(
    bucket, emulator, order, alice, client_for, caplog, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        do_work(order, "invoice")
    emulator.pause()
    try:
        with caplog.at_level(logging.WARNING, logger="shop.invoices.views"):
            response = client_for(alice).get(f"/api/orders/{order.pk}/report/")
    finally:
        emulator.resume()
    body = assert_problem(response, 503, "service_unavailable")
    assert response["Retry-After"] == "10"
    assert "invoice store is not answering" in body["detail"]
    [line] = [r.getMessage() for r in caplog.records if "event=storage_unavailable" in r.getMessage()]
    assert f"order_id={order.pk}" in line and "action=answer_503" in line
    assert client_for(alice).get(f"/api/orders/{order.pk}/report/").status_code == 200


def test_a_confirmation_that_cannot_read_the_invoice_is_retried_not_sent_without_it(bucket, emulator, order):
    do_work(order, "invoice")
    emulator.pause()
    try:
        with pytest.raises(RetryLater):
            do_work(order, "order_confirmation")
    finally:
        emulator.resume()
    assert mail.outbox == []
    assert do_work(order, "order_confirmation").status == "done"
    [message] = mail.outbox
    assert len(message.attachments) == 1
