"""E-mail backends."""

from email.mime.base import MIMEBase

from django.core.mail.backends import console


def _attachment_summary(attachment) -> str:
    if isinstance(attachment, MIMEBase):
        name, mimetype = attachment.get_filename(), attachment.get_content_type()
        size = len(attachment.get_payload(decode=True) or b"")
    else:  # (filename, content, mimetype)
        name, content, mimetype = attachment
        size = len(content.encode() if isinstance(content, str) else content)
    return f"[attachment: {name} ({mimetype}, {size} bytes)]"


class SummaryConsoleEmailBackend(console.EmailBackend):
    """Django's console backend, one readable block per message: the envelope, the text and a
    line per attachment (name, type, size) instead of pages of base64."""

    def write_message(self, message) -> None:
        lines = [
            f"From: {message.from_email}",
            f"To: {', '.join(message.recipients())}",
            f"Subject: {message.subject}",
            "",
            message.body.rstrip("\n"),
            *(_attachment_summary(attachment) for attachment in message.attachments),
            "-" * 79,
        ]
        self.stream.write("\n".join(lines) + "\n")
