"""The production processes with invoices in S3-compatible object storage (moto's S3 emulator in a
process of its own): the web and the worker share no filesystem, as replicas on different nodes
would not, and the web serves the invoice the worker stored. The store stops answering for a while
in the middle: the worker's attempt fails and is retried, nothing is shown as ready before it is
stored, the report is a 503 then, and every order ends invoiced and confirmed."""

import tempfile
import time
from pathlib import Path

import boto3
import pytest
import requests

from contract_tests import services
from contract_tests.conftest import require_services
from contract_tests.stack import live_stack
from tests.helpers import ADDRESS, assert_problem, wait_for

BUCKET = "shop-live-invoices"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "shop-live", "AWS_SECRET_ACCESS_KEY": "shop-live-secret"}


@pytest.fixture(scope="module")
def stored():
    require_services()
    emulator = services.S3Emulator()
    emulator.start()
    s3 = boto3.client(
        "s3",
        endpoint_url=emulator.url,
        region_name="us-east-1",
        aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
    )
    s3.create_bucket(Bucket=BUCKET)
    env = {
        **CREDENTIALS,
        "AWS_EC2_METADATA_DISABLED": "true",
        "INVOICE_STORAGE_BUCKET": BUCKET,
        "INVOICE_STORAGE_ENDPOINT_URL": emulator.url,
        "INVOICE_STORAGE_REGION": "us-east-1",
        "INVOICE_STORAGE_TIMEOUT": "1",
        "INVOICE_RETRY_BACKOFF": "1",
        "INVOICE_MAX_RETRIES": "10",  # the outage below outlasts a few attempts
    }
    # No shared volume: each process has a media root of its own, as on separate nodes.
    media = {name: Path(tempfile.mkdtemp(prefix=f"shop-{name}-media-")) for name in ("web", "worker")}
    try:
        with live_stack(
            extra_env=env,
            process_env={name: {"DJANGO_MEDIA_ROOT": str(path)} for name, path in media.items()},
        ) as stack:
            stack.emulator, stack.s3, stack.media = emulator, s3, media
            yield stack
    finally:
        emulator.stop()


def place(stack) -> int:
    product = stack.create_product(stock=10)
    response = requests.post(
        stack.url("/api/orders/"),
        json={"items": [{"product": product, "quantity": 1}], "shipping_address": ADDRESS},
        headers=stack.auth("alice"),
        timeout=30,
    )
    assert response.status_code == 201, response.text
    return response.json()["id"]


def report(stack, order_id: int) -> requests.Response:
    return requests.get(stack.url(f"/api/orders/{order_id}/report/"), headers=stack.auth("alice"), timeout=30)


def test_the_web_serves_what_the_worker_stored_in_the_bucket(stored):
    order_id = place(stored)
    wait_for(lambda: stored.work("invoice", order_id)[0] == "done", timeout=60, what="the invoice")
    response = report(stored, order_id)
    assert response.status_code == 200 and response.content.startswith(b"%PDF")
    key = f"invoices/order-{order_id}.pdf"
    assert stored.s3.get_object(Bucket=BUCKET, Key=key)["Body"].read() == response.content
    assert [list(path.rglob("*")) for path in stored.media.values()] == [[], []]  # no local file
    wait_for(lambda: stored.work("order_confirmation", order_id)[0] == "done", timeout=60, what="the e-mail")


def test_a_store_out_for_a_while_delays_the_invoice_and_loses_nothing(stored):
    ready = place(stored)
    wait_for(lambda: stored.work("invoice", ready)[0] == "done", timeout=60, what="the first invoice")
    stored.emulator.pause()
    try:
        order_id = place(stored)
        # The worker's attempts time out (1 s per try): the entry stays pending, attempts count.
        wait_for(lambda: stored.work("invoice", order_id)[1] >= 2, timeout=60, what="two failed attempts")
        assert stored.work("invoice", order_id)[0] == "pending"
        assert stored.query("SELECT count(*) FROM invoices_invoice WHERE order_id = %s", order_id) == [(0,)]
        order = requests.get(stored.url(f"/api/orders/{order_id}/"), headers=stored.auth("alice"), timeout=30)
        assert order.json()["report_url"] is None
        assert stored.work("order_confirmation", order_id)[0] == "pending"  # waits for the invoice
        started = time.monotonic()
        response = report(stored, ready)  # recorded earlier, unreadable now
        assert time.monotonic() - started < 10  # the storage's bound, not botocore's 60 s x 5
        assert_problem(response, 503, "service_unavailable")
        assert response.headers["Retry-After"]
    finally:
        stored.emulator.resume()
    wait_for(lambda: stored.work("invoice", order_id)[0] == "done", timeout=60, what="the invoice after")
    wait_for(lambda: stored.work("order_confirmation", order_id)[0] == "done", timeout=60, what="the e-mail")
    assert report(stored, order_id).status_code == 200
    assert report(stored, ready).status_code == 200
    assert "event=storage_unavailable" in stored.log("web")
