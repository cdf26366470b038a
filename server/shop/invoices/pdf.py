"""Renders an order's invoice as PDF bytes with reportlab."""

from io import BytesIO
from xml.sax.saxutils import escape

from django.conf import settings
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from shop.orders.models import Order


def render_invoice(order: Order) -> bytes:
    """Returns the PDF: the seller (shop name and address), order number and date, customer, the
    billing address (the shipping address when none was given) and the shipping address, lines
    and total in the order's currency. No status: an invoice shows what was bought, and stays true.

    Paragraphs are reportlab markup: every string a user or staff member chose is escaped, so
    `<b>` is printed, not parsed, and `<img src=...>` opens no file or URL. Table cells are
    plain strings and are never parsed."""
    styles = getSampleStyleSheet()
    buffer = BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        title=f"Invoice for order {order.pk}",
        author=settings.SHOP_NAME,
        leftMargin=20 * mm,
        rightMargin=20 * mm,
        topMargin=20 * mm,
        bottomMargin=20 * mm,
    )
    customer = order.user
    currency = order.currency
    rows = [["Product", "Quantity", f"Unit price ({currency})", f"Line total ({currency})"]]
    rows += [
        [item.product_name, str(item.quantity), f"{item.price_at_purchase:.2f}", f"{item.line_total:.2f}"]
        for item in order.items.all()
    ]
    rows.append(["", "", f"Total ({currency})", f"{order.total_price:.2f}"])
    table = Table(rows, colWidths=[75 * mm, 20 * mm, 35 * mm, 35 * mm], repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eeeeee")),
                ("FONTNAME", (0, 0), (-1, 0), "Helvetica-Bold"),
                ("FONTNAME", (0, -1), (-1, -1), "Helvetica-Bold"),
                ("ALIGN", (1, 0), (-1, -1), "RIGHT"),
                ("LINEBELOW", (0, 0), (-1, 0), 0.5, colors.black),
                ("LINEABOVE", (0, -1), (-1, -1), 0.5, colors.black),
            ]
        )
    )
    seller = "<br/>".join(escape(line) for line in settings.SHOP_ADDRESS.splitlines() if line.strip())
    story = [
        Paragraph(escape(settings.SHOP_NAME), styles["Title"]),
        Paragraph(seller, styles["Normal"]),
        Spacer(1, 6 * mm),
        Paragraph(f"Invoice for order #{order.pk}", styles["Heading2"]),
        Paragraph(f"Date: {order.created_at:%Y-%m-%d %H:%M} UTC", styles["Normal"]),
        Paragraph(
            f"Customer: {escape(customer.username)} &lt;{escape(customer.email)}&gt;", styles["Normal"]
        ),
        *_addresses(order, styles),
        Paragraph(f"All amounts in {escape(currency)}.", styles["Normal"]),
        Spacer(1, 8 * mm),
        table,
    ]
    document.build(story)
    return buffer.getvalue()


def _addresses(order: Order, styles) -> list:
    """ "Bill to" and "Ship to" side by side, each line escaped; nothing for an order without any."""
    billing = order.billing_address or order.shipping_address
    blocks = [
        (title, address)
        for title, address in (("Bill to", billing), ("Ship to", order.shipping_address))
        if address
    ]
    if not blocks:
        return []
    cells = [
        Paragraph(
            f"<b>{title}</b><br/>" + "<br/>".join(escape(line) for line in address.lines()), styles["Normal"]
        )
        for title, address in blocks
    ]
    return [
        Spacer(1, 4 * mm),
        Table([cells], colWidths=[82 * mm] * len(cells), hAlign="LEFT"),
        Spacer(1, 4 * mm),
    ]
