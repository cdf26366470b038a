"""Sending e-mail, one message at a time or many over one connection:

    with shared_connection():        # around a batch of the outbox's e-mail entries
        send(message)                # each its own attempt: a failure is that message's only

Outside `shared_connection()`, `send` is `message.send()` (a connection per message). Inside, the
messages share the backend's connection (SMTP: one login for the batch); a message whose send
fails closes it, so the next one opens a fresh connection instead of inheriting a broken one."""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.core.mail import EmailMessage, get_connection

_connection: ContextVar = ContextVar("shared_mail_connection", default=None)


@contextmanager
def shared_connection() -> Iterator[None]:
    connection = get_connection()
    token = _connection.set(connection)
    try:
        yield
    finally:
        _connection.reset(token)
        connection.close()


def send(message: EmailMessage) -> None:
    connection = _connection.get()
    if connection is None:
        message.send()
        return
    try:
        connection.open()  # opened here, not on entering: a server that is down fails this message only
        connection.send_messages([message])  # on an open connection, which it leaves open
    except Exception:
        connection.close()
        raise
