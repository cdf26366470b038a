"""The work an order owes after its commits, by outbox kind. Each kind is registered (and done)
by the app it belongs to; orders only owe them (`shop.outbox.publish.owe`)."""

from enum import StrEnum


class OrderWork(StrEnum):
    INVOICE = "invoice"  # shop.invoices: the PDF, when the order is placed
    ORDER_CONFIRMATION = "order_confirmation"  # shop.notifications: the e-mail, after the invoice
    SHIPPING_NOTICE = "shipping_notice"  # shop.shipping: the partner's notice, when it ships
