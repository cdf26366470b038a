"""A Python client generated from openapi.yaml by openapi-python-client drives the live stack
through a whole scenario. Nothing generated is committed: it is generated here, every run."""

import importlib
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent


@pytest.fixture(scope="module")
def shop_client(tmp_path_factory):
    out = tmp_path_factory.mktemp("client")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "openapi_python_client",
            "generate",
            "--path",
            str(HERE.parent / "openapi.yaml"),
            "--config",
            str(HERE / "client-config.yaml"),
            "--meta",
            "none",
            "--output-path",
            str(out / "shop_client"),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    sys.path.insert(0, str(out))
    try:
        yield importlib.import_module("shop_client")
    finally:
        sys.path.remove(str(out))
        for name in [m for m in sys.modules if m == "shop_client" or m.startswith("shop_client.")]:
            del sys.modules[name]


def api(module: str):
    return importlib.import_module(f"shop_client.{module}")


def test_a_whole_scenario_through_the_generated_client(shop_client, stack):
    models = api("models")
    anonymous = shop_client.Client(base_url=stack.base_url, raise_on_unexpected_status=True)
    name = f"carol{uuid.uuid4().hex[:6]}"

    # register and log in
    registered = api("api.auth.register").sync(
        client=anonymous,
        body=models.RegisterRequest(
            username=name, email=f"{name}@example.com", password="a-long-passphrase-42"
        ),
    )
    assert isinstance(registered, models.User) and registered.username == name
    tokens = api("api.auth.login").sync(
        client=anonymous, body=models.LoginRequest(username=name, password="a-long-passphrase-42")
    )
    assert isinstance(tokens, models.TokenPair)
    carol = shop_client.AuthenticatedClient(base_url=stack.base_url, token=tokens.access)
    admin = shop_client.AuthenticatedClient(base_url=stack.base_url, token=stack.tokens["admin"])

    # as admin, stock the catalog
    create_product = api("api.products.create_product")
    kettle = create_product.sync(
        client=admin,
        body=models.ProductInput(name="Client kettle", price="30.00", stock=3, category=models.Category.HOME),
    )
    lamp = create_product.sync(
        client=admin,
        body=models.ProductInput(name="Client lamp", price="45.50", stock=10, category=models.Category.HOME),
    )
    assert isinstance(kettle, models.Product) and kettle.price == "30.00"

    # list and filter
    page = api("api.products.list_products").sync(
        client=carol,
        category=models.Category.HOME,
        min_price="40",
        ordering=models.ListProductsOrdering.PRICE,
    )
    assert isinstance(page, models.ProductPage)
    assert lamp.id in [p.id for p in page.results] and kettle.id not in [p.id for p in page.results]

    # place an order; too much is a typed problem
    create_order = api("api.orders.create_order")
    too_much = create_order.sync(
        client=carol, body=models.OrderCreate(items=[models.OrderLineInput(product=kettle.id, quantity=4)])
    )
    assert isinstance(too_much, models.Problem)
    assert too_much.code == "insufficient_stock" and too_much.status == 400
    assert too_much.errors[0].field == "items[0].quantity"
    line = too_much.errors[0]
    assert (line.product, line.requested, line.available) == (kettle.id, 4, 3)
    # a saved address, and an order placed with it: the order keeps a copy
    home = models.AddressInput(
        name="Carol", line1="1 Main Street", city="Dublin", postal_code="D02 X285", country=models.Country.IE
    )
    saved = api("api.addresses.create_address").sync(
        client=carol, body=models.SavedAddressCreate(address=home)
    )
    assert saved.is_default and saved.address.city == "Dublin"
    order = create_order.sync(
        client=carol,
        body=models.OrderCreate(
            items=[
                models.OrderLineInput(product=kettle.id, quantity=2),
                models.OrderLineInput(product=lamp.id, quantity=1),
            ],
            shipping_address=models.SavedAddressRef(saved_address=saved.id),
        ),
    )
    assert isinstance(order, models.Order) and order.total_price == "105.50"
    assert (order.shipping_address.country, order.billing_address) == ("IE", None)
    assert order.status == models.OrderStatus.PENDING

    # read it, then cancel it: the stock comes back
    read = api("api.orders.get_order").sync(client=carol, id=order.id)
    assert read.id == order.id and [item.quantity for item in read.items] == [2, 1]
    # a conditional read: the ETag sent back answers 304 with no body (the client parses nothing).
    # The worker may change the order in between (its invoice): then the answer is a 200 with a
    # new tag, and the next conditional read is a 304.
    etag = api("api.orders.get_order").sync_detailed(client=carol, id=order.id).headers["ETag"]
    for _ in range(20):
        again = api("api.orders.get_order").sync_detailed(client=carol, id=order.id, if_none_match=etag)
        if again.status_code == 304:
            break
        assert again.status_code == 200 and again.headers["ETag"] != etag
        etag = again.headers["ETag"]
        time.sleep(0.2)
    assert (again.status_code, again.content, again.parsed) == (304, b"", None)
    assert again.headers["ETag"] == etag
    cancelled = api("api.orders.change_order_status").sync(
        client=carol, id=order.id, body=models.OrderStatusChange(status=models.OrderStatus.CANCELLED)
    )
    assert cancelled.status == models.OrderStatus.CANCELLED
    assert (
        api("api.orders.get_order").sync_detailed(client=carol, id=order.id, if_none_match=etag).status_code
        == 200
    )
    assert api("api.products.get_product").sync(client=carol, id=kettle.id).stock == 3

    # as admin, move another order to shipped
    second = create_order.sync(
        client=carol, body=models.OrderCreate(items=[models.OrderLineInput(product=lamp.id, quantity=1)])
    )
    assert second.shipping_address is None  # it cannot ship until staff give it one
    readdressed = api("api.orders.change_order_shipping_address").sync(
        client=admin, id=second.id, body=home, if_match="*"
    )
    assert readdressed.shipping_address.city == "Dublin"
    assert readdressed.shipping_address_history[0].previous is None
    change = api("api.orders.change_order_status")
    for status in (models.OrderStatus.PROCESSING, models.OrderStatus.SHIPPED):
        moved = change.sync(client=admin, id=second.id, body=models.OrderStatusChange(status=status))
    assert moved.status == models.OrderStatus.SHIPPED
    assert [h.to_status for h in moved.status_history] == [
        models.OrderStatus.PENDING,
        models.OrderStatus.PROCESSING,
        models.OrderStatus.SHIPPED,
    ]

    # the customer may not touch shipped orders; the answer is a typed problem
    refused = change.sync(
        client=carol, id=second.id, body=models.OrderStatusChange(status=models.OrderStatus.CANCELLED)
    )
    assert isinstance(refused, models.Problem) and refused.code == "invalid_status_transition"

    # and the invoice arrives (made by the worker)
    get_order = api("api.orders.get_order")
    deadline = time.monotonic() + 60
    while get_order.sync(client=carol, id=second.id).report_url is None:
        assert time.monotonic() < deadline, "no invoice after 60 s"
        time.sleep(0.5)
    # The PDF is read as a file (client-config.yaml: application/pdf as application/octet-stream)
    report = api("api.orders.get_order_report").sync_detailed(client=carol, id=second.id)
    assert report.status_code == 200 and report.content.startswith(b"%PDF")
    assert report.headers["Content-Disposition"] == f'attachment; filename="invoice-order-{second.id}.pdf"'
    assert report.parsed.payload.read() == report.content


CREATED = "2026-11-28T10:00:00Z"


def test_a_client_generated_today_reads_what_a_minor_version_may_add(shop_client):
    """An order from a later 2.x server, with a field and a status this contract does not know yet,
    and a problem with a new code: the generated client parses them instead of failing."""
    models = api("models")
    order = models.Order.from_dict(
        {
            "id": 7,
            "user": 3,
            "status": "on_hold",
            "total_price": "30.00",
            "currency": "EUR",
            "created_at": CREATED,
            "updated_at": CREATED,
            "items": [],
            "shipping_address": None,
            "billing_address": None,
            "shipping_address_history": [],
            "report_url": None,
            "status_history": [
                {"from_status": None, "to_status": "pending", "changed_by": 3, "changed_at": CREATED},
                {"from_status": "pending", "to_status": "on_hold", "changed_by": 1, "changed_at": CREATED},
            ],
            "gift_wrap": True,
        }
    )
    assert order.status == "on_hold" and not isinstance(order.status, models.OrderStatus)
    assert order.status_history[0].to_status is models.OrderStatus.PENDING
    assert order.additional_properties == {"gift_wrap": True}

    problem = models.Problem.from_dict(
        {"type": "https://shop.example/problems/x", "title": "t", "status": 409, "code": "order_locked"}
    )
    assert problem.code == "order_locked" and problem.status == 409
    known = models.Problem.from_dict(
        {"type": "https://shop.example/problems/x", "title": "t", "status": 400, "code": "insufficient_stock"}
    )
    assert known.code is models.ProblemCode.INSUFFICIENT_STOCK
