"""Renders an order's invoice as PDF bytes with reportlab's canvas.

The page is drawn line by line on reportlab's `Canvas`, not laid out by platypus: an invoice is
a few blocks of text and one table, and platypus' flowables (markup parsing, table geometry,
frames) made the render 3.0-3.6 ms of the worker's CPU per order; the canvas draws the same page
in a fraction of that (docs/benchmarks-and-faults.md, "The invoice drawn on the canvas").
Nothing is parsed: every string is drawn as it is, so `<b>` is printed and `<img src=...>`
opens no file or URL."""

from io import BytesIO

from django.conf import settings
from reportlab.lib.colors import HexColor, black
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.lib.utils import simpleSplit
from reportlab.pdfgen.canvas import Canvas

from shop.orders.models import Order

PAGE_WIDTH, PAGE_HEIGHT = A4
MARGIN = 20 * mm
WIDTH = PAGE_WIDTH - 2 * MARGIN
REGULAR, BOLD = "Helvetica", "Helvetica-Bold"
SIZE = 10
LEADING = 12
#: The lines' table: product, quantity, unit price, line total. Text sits PADDING inside a cell.
COLUMNS = (75 * mm, 20 * mm, 35 * mm, 35 * mm)
TABLE_WIDTH = sum(COLUMNS)
PADDING = 6
HEADER_GREY = HexColor("#eeeeee")
#: "Bill to" and "Ship to" side by side, each this wide.
ADDRESS_WIDTH = 82 * mm


def render_invoice(order: Order) -> bytes:
    """Returns the PDF: the seller (shop name and address), order number and date, customer, the
    billing address (the shipping address when none was given) and the shipping address, lines
    and total in the order's currency, over as many pages as the lines need (the table's header
    repeated on each, each page's foot naming the order and "page x of y"). No status: an
    invoice shows what was bought, and stays true."""
    buffer = BytesIO()
    canvas = _NumberedCanvas(buffer, pagesize=A4, footer=f"Invoice for order #{order.pk}")
    canvas.setTitle(f"Invoice for order {order.pk}")
    canvas.setAuthor(settings.SHOP_NAME)
    page = _Page(canvas)
    page.text(settings.SHOP_NAME, BOLD, 18, leading=22, centred=True)
    page.skip(6)
    for line in settings.SHOP_ADDRESS.splitlines():
        if line.strip():
            page.text(line)
    page.skip(6 * mm)
    page.text(f"Invoice for order #{order.pk}", BOLD, 14, leading=18)
    page.skip(4)
    page.text(f"Date: {order.created_at:%Y-%m-%d %H:%M} UTC")
    customer = order.user
    page.text(f"Customer: {customer.username} <{customer.email}>")
    _addresses(page, order)
    page.text(f"All amounts in {order.currency}.")
    page.skip(8 * mm)
    _lines(page, order)
    canvas.save()
    return buffer.getvalue()


class _NumberedCanvas(Canvas):
    """A canvas that writes `footer` and "page x of y" at the foot of every page. How many pages
    there are is known only once the last is drawn, so each finished page is kept (the state
    reportlab holds for it) and written out at `save()` with its number (reportlab's own recipe
    for "page x of y" on a canvas)."""

    def __init__(self, *args, footer: str, **kwargs):
        super().__init__(*args, **kwargs)
        self._footer = footer
        self._pages: list[dict] = []

    def showPage(self) -> None:  # reportlab's name
        self._pages.append(dict(self.__dict__))
        self._startPage()

    def save(self) -> None:
        if self._code:  # what is drawn on the page not yet shown
            self.showPage()
        for number, state in enumerate(self._pages, start=1):
            self.__dict__.update(state)
            self.setFont(REGULAR, 8)
            self.drawCentredString(
                PAGE_WIDTH / 2, MARGIN / 2, f"{self._footer} · page {number} of {len(self._pages)}"
            )
            super().showPage()
        super().save()


class _Page:
    """Where the next line goes, top-down, starting a new page when the current one is full."""

    def __init__(self, canvas: Canvas):
        self.canvas = canvas
        self.y = PAGE_HEIGHT - MARGIN

    def room(self, height: float) -> bool:
        """Makes room for `height` points; False if that took a new page."""
        if self.y - height >= MARGIN:
            return True
        self.canvas.showPage()
        self.y = PAGE_HEIGHT - MARGIN
        return False

    def skip(self, height: float) -> None:
        self.y -= height

    def text(
        self,
        text: str,
        font: str = REGULAR,
        size: float = SIZE,
        *,
        leading: float = LEADING,
        centred: bool = False,
    ) -> None:
        """Draws `text` wrapped at spaces to the page's width, one line per `leading`."""
        self.canvas.setFont(font, size)
        for line in _wrap(text, font, size, WIDTH):
            self.room(leading)
            self.y -= leading
            if centred:
                self.canvas.drawCentredString(MARGIN + WIDTH / 2, self.y + leading - size, line)
            else:
                self.canvas.drawString(MARGIN, self.y + leading - size, line)


def _wrap(text: str, font: str, size: float, width: float) -> list[str]:
    """The lines of `text` within `width` (a word longer than that stays whole, as platypus did)."""
    return simpleSplit(text, font, size, width) or [""]


def _addresses(page: _Page, order: Order) -> None:
    """ "Bill to" and "Ship to" side by side; nothing for an order without any address."""
    billing = order.billing_address or order.shipping_address
    blocks = [
        [(title, BOLD), *((line, REGULAR) for line in address.lines())]
        for title, address in (("Bill to", billing), ("Ship to", order.shipping_address))
        if address
    ]
    if not blocks:
        return
    page.skip(4 * mm)
    wrapped = [
        [(part, font) for line, font in block for part in _wrap(line, font, SIZE, ADDRESS_WIDTH - PADDING)]
        for block in blocks
    ]
    height = LEADING * max(len(block) for block in wrapped) + PADDING
    page.room(height)
    canvas = page.canvas
    for column, block in enumerate(wrapped):
        x = MARGIN + PADDING / 2 + column * ADDRESS_WIDTH
        y = page.y - PADDING / 2
        for line, font in block:
            y -= LEADING
            canvas.setFont(font, SIZE)
            canvas.drawString(x, y + LEADING - SIZE, line)
    page.skip(height + 4 * mm)


def _lines(page: _Page, order: Order) -> None:
    """The table of lines and the total. Names wrap inside their column; numbers are right-aligned;
    a line that does not fit on the page starts the next one under the header again."""
    currency = order.currency
    header = ["Product", "Quantity", f"Unit price ({currency})", f"Line total ({currency})"]
    _header(page, header)
    for item in order.items.all():
        names = _wrap(item.product_name, REGULAR, SIZE, COLUMNS[0] - PADDING)
        if not page.room(LEADING * len(names) + PADDING):
            _header(page, header)
        _row(page, [names, str(item.quantity), f"{item.price_at_purchase:.2f}", f"{item.line_total:.2f}"])
    if not page.room(LEADING + PADDING):
        _header(page, header)
    _rule(page)
    _row(page, [[""], "", f"Total ({currency})", f"{order.total_price:.2f}"], font=BOLD)


def _header(page: _Page, header: list[str]) -> None:
    canvas = page.canvas
    height = LEADING + PADDING
    page.room(height)
    canvas.setFillColor(HEADER_GREY)
    canvas.rect(MARGIN, page.y - height, TABLE_WIDTH, height, stroke=0, fill=1)
    canvas.setFillColor(black)
    _row(page, [[header[0]], *header[1:]], font=BOLD)
    _rule(page)


def _rule(page: _Page) -> None:
    """A thin line across the table where the next row starts."""
    page.canvas.setLineWidth(0.5)
    page.canvas.setStrokeColor(black)
    page.canvas.line(MARGIN, page.y, MARGIN + TABLE_WIDTH, page.y)


def _row(page: _Page, cells: list, font: str = REGULAR) -> None:
    """One row: the first cell's lines left-aligned, the other cells right-aligned on its first line."""
    canvas = page.canvas
    canvas.setFont(font, SIZE)
    names, *numbers = cells
    top = page.y - PADDING / 2
    for number, line in enumerate(names, start=1):
        canvas.drawString(MARGIN + PADDING / 2, top - LEADING * number + LEADING - SIZE, line)
    right = MARGIN + COLUMNS[0]
    for width, value in zip(COLUMNS[1:], numbers, strict=True):
        right += width
        canvas.drawRightString(right - PADDING / 2, top - SIZE, value)
    page.skip(LEADING * len(names) + PADDING)
