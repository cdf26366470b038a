"""The PDF invoice (the outbox's `invoice` kind): content, stable file name, the report endpoint."""

from io import BytesIO

import pytest
from pypdf import PdfReader

from shop.invoices.models import Invoice, invoice_storage
from shop.invoices.services import invoice_name
from shop.orders.services import place_order
from shop.outbox.models import Entry
from tests.helpers import ADDRESS, assert_problem, do_work, work

pytestmark = pytest.mark.django_db


@pytest.fixture
def alices_order(place, alice, make_product):
    keyboard = make_product("Mechanical keyboard", price="89.90", stock=5)
    novel = make_product("Paperback novel", price="12.50", stock=5)
    return place(alice, (keyboard, 2), (novel, 1))


def stored(order_id: int) -> bytes:
    """The invoice file of the order, read back from its storage."""
    with invoice_storage().open(invoice_name(order_id)) as file:
        return file.read()


def pdf_text(content: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(BytesIO(content)).pages)


def test_it_writes_the_invoice_with_every_detail(alices_order, settings):
    settings.SHOP_NAME = "Acme Shop"
    assert do_work(alices_order, "invoice").status == "done"
    assert Invoice.objects.get(order=alices_order).generated_at
    text = pdf_text(stored(alices_order.pk))
    for expected in (
        "Acme Shop",
        f"Invoice for order #{alices_order.pk}",
        "alice",
        "alice@example.com",
        "Mechanical keyboard",
        "89.90",
        "179.80",
        "Paperback novel",
        "12.50",
        "192.30",
        "Total (EUR)",
        "All amounts in EUR.",
        "1 Example Street",
        "10115 Berlin",
        f"{alices_order.created_at:%Y-%m-%d}",
    ):
        assert expected in text, expected
    assert "pending" not in text and "Status" not in text  # what was bought, not a live status


def test_it_is_addressed_to_the_billing_address_and_names_where_it_ships(place, alice, make_product):
    billing = {**ADDRESS, "name": "Lovelace Ltd", "line1": "1 <b>Bold</b> Road", "country": "FR"}
    order, _ = place_order(
        user=alice,
        items=[{"product": make_product("Lamp", stock=3).pk, "quantity": 1}],
        shipping_address=ADDRESS,
        billing_address=billing,
    )
    do_work(order, "invoice")
    text = pdf_text(stored(order.pk))
    for expected in ("Bill to", "Lovelace Ltd", "1 <b>Bold</b> Road", "France", "Ship to", "Ada Lovelace"):
        assert expected in text, expected
    assert "SW1Y 4JH London" in text and "United Kingdom" in text


def test_without_a_billing_address_it_is_billed_to_the_shipping_address(alices_order):
    do_work(alices_order, "invoice")
    text = pdf_text(stored(alices_order.pk))
    assert text.count("Ada Lovelace") == 2 and "Bill to" in text and "Ship to" in text


def test_an_order_without_addresses_has_an_invoice_without_them(place, alice, make_product):
    order = place(alice, (make_product("Lamp", stock=3), 1), shipping_address=None)
    do_work(order, "invoice")
    text = pdf_text(stored(order.pk))
    assert "Lamp" in text and "Ship to" not in text and "Bill to" not in text


def test_it_shows_the_currency_the_order_was_placed_in(alices_order, settings):
    settings.SHOP_CURRENCY = "CHF"  # changed after the order was placed
    do_work(alices_order, "invoice")
    text = pdf_text(stored(alices_order.pk))
    assert "Total (EUR)" in text and "CHF" not in text


def test_running_it_again_rewrites_the_same_file(alices_order):
    do_work(alices_order, "invoice")
    Entry.objects.filter(kind="invoice").update(status="pending")  # as if requeued
    do_work(alices_order, "invoice")
    assert invoice_storage().listdir("invoices") == (
        [],
        [f"order-{alices_order.pk}.pdf"],
    )  # no temporary left
    assert Invoice.objects.filter(order=alices_order).count() == 1


def test_the_report_is_404_until_it_exists_then_streams_the_pdf(
    client_for, alice, alices_order, django_capture_on_commit_callbacks
):
    client = client_for(alice)
    assert client.get(f"/api/orders/{alices_order.pk}/").json()["report_url"] is None
    assert_problem(client.get(f"/api/orders/{alices_order.pk}/report/"), 404, "not_found")
    with django_capture_on_commit_callbacks(execute=True):  # as the worker's write commits
        do_work(alices_order, "invoice")
    body = client.get(f"/api/orders/{alices_order.pk}/").json()
    assert body["report_url"] == f"/api/orders/{alices_order.pk}/report/"
    response = client.get(body["report_url"])
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == f'attachment; filename="invoice-order-{alices_order.pk}.pdf"'
    content = b"".join(response.streaming_content)
    assert content.startswith(b"%PDF") and "Mechanical keyboard" in pdf_text(content)


def test_the_report_is_for_the_owner_and_staff_only(client_for, bob, staff, alices_order):
    do_work(alices_order, "invoice")
    assert_problem(client_for(bob).get(f"/api/orders/{alices_order.pk}/report/"), 404, "not_found")
    assert client_for(staff).get(f"/api/orders/{alices_order.pk}/report/").status_code == 200


def test_a_missing_file_reads_as_not_generated(client_for, alice, alices_order):
    do_work(alices_order, "invoice")
    invoice_storage().delete(invoice_name(alices_order.pk))
    assert_problem(client_for(alice).get(f"/api/orders/{alices_order.pk}/report/"), 404, "not_found")


def test_markup_in_names_is_printed_not_parsed(place, make_user, make_product, settings, tmp_path):
    secret = tmp_path / "secret.png"
    secret.write_bytes(b"not an image")
    settings.SHOP_NAME = "Bits & <Bytes>"
    mallory = make_user("mallory")
    # Written behind the validators' back, as an import or an old row could be.
    mallory.username = "<b>mallory"
    mallory.email = f"\"<img src='{secret}'/>\"@example.com"
    mallory.save()
    order = place(mallory, (make_product("<i>Widget</i> & co", stock=5), 1))
    assert do_work(order, "invoice").status == "done"
    text = " ".join(pdf_text(stored(order.pk)).split())  # lines wrap
    for literal in ("Bits & <Bytes>", "<b>mallory", f"<img src='{secret}'/>", "<i>Widget</i> & co"):
        assert literal in text, literal


def test_fifty_lines_run_over_pages_with_the_header_on_each_and_the_total_once(place, alice, make_product):
    lines = [(make_product(f"Article {n:02d} with a name of some length", stock=5), 1) for n in range(50)]
    order = place(alice, *lines)
    do_work(order, "invoice")
    pages = [" ".join(page.extract_text().split()) for page in PdfReader(BytesIO(stored(order.pk))).pages]
    assert len(pages) == 2
    assert all("Product Quantity Unit price (EUR) Line total (EUR)" in page for page in pages)
    assert all(f"Article {n:02d} with a name of some length" in "".join(pages) for n in range(50))
    assert "".join(pages).count("Total (EUR)") == 1 and "Total (EUR)" in pages[-1]


def test_a_long_product_name_wraps_inside_its_column(place, alice, make_product):
    """Every piece of the name is drawn inside the product column (75 mm), left of the quantity."""
    from reportlab.pdfbase.pdfmetrics import stringWidth

    from shop.invoices.pdf import COLUMNS, MARGIN

    name = "A reading lamp with a brass arm, a linen shade and a switch on its cable " * 2
    order = place(alice, (make_product(name.strip(), stock=5), 1))
    do_work(order, "invoice")
    drawn = []  # (text, x) of every piece of text on the page
    PdfReader(BytesIO(stored(order.pk))).pages[0].extract_text(
        visitor_text=lambda text, cm, tm, font, size: drawn.append((text.strip(), tm[4]))
    )
    pieces = [(text, x) for text, x in drawn if text and text in name]
    assert " ".join(text for text, _ in pieces) == name.strip()
    assert len(pieces) > 1
    for text, x in pieces:
        assert x + stringWidth(text, "Helvetica", 10) <= MARGIN + COLUMNS[0], text


def test_reportlab_renders_with_its_c_helpers():
    """`reportlab[accel]` installs rl_accel: number formatting, string widths and the page streams'
    ASCII85 run in C (an invoice in about 15 % less time than with the pure-Python fallbacks)."""
    from reportlab.lib import rl_accel

    for name in ("fp_str", "instanceStringWidthT1", "asciiBase85Encode", "escapePDF"):
        assert getattr(rl_accel, name).__module__ == "_rl_accel", f"{name} is reportlab's Python fallback"


def test_an_order_deleted_before_its_invoice_is_skipped(alices_order):
    entry = work(alices_order, "invoice")
    Entry.objects.filter(pk=entry.pk).update(object_id=alices_order.pk + 1000)
    entry = do_work(alices_order.pk + 1000, "invoice")
    assert (entry.status, entry.error) == ("skipped", "the order no longer exists")
    assert not Invoice.objects.exists()


def test_every_page_says_which_of_how_many_it_is(place, alice, make_product):
    long_one = place(alice, *[(make_product(f"Line {n:02d}", price="1.00", stock=5), 1) for n in range(50)])
    short_one = place(alice, (make_product("Kettle", price="20.00", stock=5), 1))
    for order in (long_one, short_one):
        do_work(order, "invoice")
    pages = [" ".join(page.extract_text().split()) for page in PdfReader(BytesIO(stored(long_one.pk))).pages]
    assert len(pages) == 2
    for number, page in enumerate(pages, start=1):
        assert f"Invoice for order #{long_one.pk} · page {number} of 2" in page
        assert f"page {3 - number} of 2" not in page
    assert f"Invoice for order #{short_one.pk} · page 1 of 1" in pdf_text(stored(short_one.pk))


def test_the_page_number_sits_in_the_bottom_margin_below_everything_else(place, alice, make_product):
    from shop.invoices.pdf import MARGIN

    order = place(alice, *[(make_product(f"Line {n:02d}", price="1.00", stock=5), 1) for n in range(50)])
    do_work(order, "invoice")
    for page in PdfReader(BytesIO(stored(order.pk))).pages:
        drawn = []  # (text, y) of every piece of text on the page
        page.extract_text(
            visitor_text=lambda text, cm, tm, font, size, drawn=drawn: drawn.append((text.strip(), tm[5]))
        )
        footer = [y for text, y in drawn if "· page" in text]
        others = [y for text, y in drawn if text and "· page" not in text]
        assert len(footer) == 1
        assert footer[0] < MARGIN <= min(others)
