"""Logging filters used by `LOGGING`."""

import logging
import re

from pythonjsonlogger.json import JsonFormatter

from .request_id import current_request_id


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


class RequestId(logging.Filter):
    """Puts the current request's (or task's) X-Request-ID on every record, `-` outside of both."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = current_request_id() or "-"
        return True


KEY_VALUE = re.compile(r'([a-z_]+)=("(?:[^"\\]|\\.)*"|\S+)')


class KeyValueJsonFormatter(JsonFormatter):
    """LOG_FORMAT=json: one JSON object per line. Our messages are `key=value` pairs
    (`event=order_placed order_id=7`); each pair becomes a field of its own, so a log pipeline can
    filter on `event` or `order_id` without parsing the message."""

    def add_fields(self, log_data, record, message_dict) -> None:
        super().add_fields(log_data, record, message_dict)
        for key, value in KEY_VALUE.findall(record.getMessage()):
            log_data.setdefault(key, value[1:-1] if value.startswith('"') else value)
