"""The log's format and filters (used by `LOGGING`), and `Pairs` for `key=value` text the code
built itself."""

import functools
import json
import logging
import re

from django_guid import get_guid
from pythonjsonlogger.json import JsonFormatter


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
    """Puts the current request's (or task's) X-Request-ID on every record, `-` outside of both,
    unless the record names one itself (`extra={"request_id": ...}`: gunicorn's refusals, which
    have an id but no request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "request_id", None):
            record.request_id = get_guid() or "-"
        return True


# A %-placeholder of a log message: `%%`, or flags, width, precision and a conversion.
PLACEHOLDER = re.compile(r"%(?:%|[-#0 +]*\d*(?:\.\d+)?[a-zA-Z])")
# What a value may not hold unquoted in a `key=value` line: it would end the value early or
# start a pair, a quoted string or a line of its own.
NEEDS_QUOTES = re.compile(r'[\s"=\\]|[\x00-\x1f\x7f]|^$')


class Pairs(str):
    """`key=value` pairs the project built itself (a task's context): written as they are."""

    __slots__ = ()


def _safe(text: str, *, inside_quotes: bool) -> str:
    if inside_quotes:
        return json.dumps(text, ensure_ascii=False)[1:-1]
    return json.dumps(text, ensure_ascii=False) if NEEDS_QUOTES.search(text) else text


@functools.lru_cache(maxsize=1024)
def _template(msg: str) -> tuple[str, tuple[tuple[str, bool], ...]]:
    """A message's placeholders, parsed once per message (messages are the code's constants): the
    message with each text placeholder as `%s`, and per argument its conversion (`s`, `r`, or
    another one, kept as it is) and whether the message quotes it."""
    pieces: list[str] = []
    slots: list[tuple[str, bool]] = []
    position = 0
    inside = False  # whether the message itself has opened a quoted string here
    for match in PLACEHOLDER.finditer(msg):
        literal = msg[position : match.start()]
        inside ^= (literal.count('"') - literal.count('\\"')) % 2 == 1
        pieces.append(literal)
        position = match.end()
        placeholder = match.group()
        if placeholder == "%%":
            pieces.append(placeholder)
            continue
        conversion = placeholder[-1]
        pieces.append("%s" if conversion in "sr" else placeholder)
        slots.append((conversion if conversion in "sr" else "", inside))
    pieces.append(msg[position:])
    return "".join(pieces), tuple(slots)


def _quoted_arguments(msg: str, args: tuple) -> tuple[str, tuple] | None:
    """`msg` and `args` with every text argument made safe where it is interpolated; None when
    the placeholders and the arguments do not pair up (the record is left as it is)."""
    template, slots = _template(msg)
    if len(slots) != len(args):
        return None
    safe_args = []
    for (conversion, inside), arg in zip(slots, args, strict=True):
        if conversion and not isinstance(arg, int | float | type(None) | Pairs):
            arg = _safe(str(arg) if conversion == "s" else repr(arg), inside_quotes=inside)
        elif conversion == "r":
            arg = repr(arg)
        safe_args.append(arg)
    return template, tuple(safe_args)


class QuotedArguments(logging.Filter):
    """Log forging: a value taken from a request (a path, a header) is written so that it cannot
    read as `key=value` pairs, a field or a line of its own. Each text argument of a message that
    holds a space, `=`, a quote, a backslash or a control character is quoted and escaped (JSON
    string syntax; only escaped where the message already quotes it). `GET /zz%20event=x` logs
    `Not Found: "/zz event=x"`, never an `event` of its own."""

    def filter(self, record: logging.LogRecord) -> bool:
        # Every handler's filters see the same record: it is quoted once.
        if isinstance(record.args, tuple) and record.args and not getattr(record, "args_quoted", False):
            safe = _quoted_arguments(str(record.msg), record.args)
            if safe is not None:
                record.msg, record.args = safe
            record.args_quoted = True
        return True


# One token of a `key=value` line, in order: a pair (its value bare or quoted), a quoted string,
# or a bare word. Scanning token by token, text inside a quoted string is never read as a pair.
TOKEN = re.compile(r'(?:([a-z_]+)=("(?:[^"\\]|\\.)*"|[^\s"]*))|"(?:[^"\\]|\\.)*"|\S+?(?=\s|"|$)|\S')


def key_value_pairs(message: str) -> dict[str, str]:
    """The `key=value` pairs of a message, each value unquoted; the first of a repeated key."""
    pairs: dict[str, str] = {}
    for match in TOKEN.finditer(message):
        key, value = match.group(1), match.group(2)
        if key is not None and key not in pairs:
            pairs[key] = json.loads(value) if value.startswith('"') else value
    return pairs


class KeyValueJsonFormatter(JsonFormatter):
    """LOG_FORMAT=json: one JSON object per line. The project's messages are `key=value` pairs
    (`event=order_placed order_id=7`); each pair of a `shop.*` logger's message becomes a field of
    its own, so a log pipeline can filter on `event` or `order_id` without parsing the message.
    Other libraries' messages (Django's "Not Found: <path>") give no fields, and a value
    interpolated into a message is quoted (`QuotedArguments`), so no request can add a field."""

    def add_fields(self, log_data, record, message_dict) -> None:
        super().add_fields(log_data, record, message_dict)
        if record.name == "shop" or record.name.startswith("shop."):
            for key, value in key_value_pairs(record.getMessage()).items():
                log_data.setdefault(key, value)
