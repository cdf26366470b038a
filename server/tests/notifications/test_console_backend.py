"""`make run` prints each e-mail as a short block: no base64 of the attached PDF."""

import io

from django.core.mail import EmailMessage

from shop.notifications.backends import SummaryConsoleEmailBackend


def test_it_prints_the_message_and_summarises_attachments():
    stream = io.StringIO()
    message = EmailMessage(
        "Your order #7 confirmed", "Thank you.\n", "shop@example.com", ["dana@example.com"]
    )
    message.attach("invoice-order-7.pdf", b"%PDF-" + b"x" * 2043, "application/pdf")
    message.attach("note.txt", "hello", "text/plain")
    assert SummaryConsoleEmailBackend(stream=stream).send_messages([message]) == 1
    printed = stream.getvalue()
    assert printed.startswith(
        "From: shop@example.com\nTo: dana@example.com\nSubject: Your order #7 confirmed\n"
    )
    assert "\nThank you.\n" in printed
    assert "[attachment: invoice-order-7.pdf (application/pdf, 2048 bytes)]" in printed
    assert "[attachment: note.txt (text/plain, 5 bytes)]" in printed
    assert "JVBERi" not in printed  # the base64 of "%PDF"
    assert len(printed.splitlines()) == 8
