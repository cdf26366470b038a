"""Logging filters used by `LOGGING`."""

import logging


class SecurityEventsOnOneLine(logging.Filter):
    """Django logs every refused request (`django.security.DisallowedHost`, a body too large) with
    the exception's traceback. Such a request is hostile input answered with a 4xx, not a fault of
    the server: keep the event's line, drop the traceback, so a traceback in the log always means
    a bug."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name.startswith("django.security."):
            record.exc_info = None
            record.exc_text = None
        return True
