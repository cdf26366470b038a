"""gunicorn settings the command line cannot carry (server/bin/web passes the rest)."""

import json
import logging
import os
import uuid
from http import HTTPStatus

from gunicorn import util
from prometheus_client import multiprocess

from shop.core.error_codes import ApiErrorCode

# What a client may say about the path and the scheme. No header may set SCRIPT_NAME or PATH_INFO
# (gunicorn's default takes them from any address in `forwarded_allow_ips`, loopback included, and
# a prefix then moved the path Django routes on), and a header name with an underscore is
# dropped, as nginx does. `X-Forwarded-Proto` counts only from FORWARDED_ALLOW_IPS (gunicorn reads
# that variable; default: loopback, a proxy on the same host): the scheme Django sees is the one
# gunicorn decided, never a header Django reads itself.
forwarder_headers = ""
header_map = "drop"

# Each worker listens on a socket of its own (SO_REUSEPORT), and the kernel spreads new
# connections over them. On one shared socket the worker whose thread got to `accept()` first took
# them: 64 clients of a flash sale were held 62 to 2, or 0 to 64 (one worker idle, 139 orders/s
# instead of 185), and the clients of the busier one waited for its four threads. Over 8 rounds
# of 10 s the split was between 26/38 and 32/32 instead, p99 580-836 ms against 502-947 (mean 663
# against 750). The price: a worker that dies drops the connections still waiting in its own queue (a
# shared queue would hand them to another), and a second server started on the same port by the
# same user shares it instead of failing ("address already in use"); each container has its own.
reuse_port = True


def child_exit(server, worker) -> None:
    """A gunicorn worker that exits leaves its metric files behind: its counters still count,
    its live gauges must not (prometheus-client's multiprocess mode)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.mark_process_dead(worker.pid)


if os.environ.get("LOG_FORMAT") == "json":
    # gunicorn's own lines (booting, worker exits) as JSON objects too, like the app's.
    # (gunicorn merges this into its defaults; its loggers also propagate to the root's handler
    # there, which printed every line twice.)
    logconfig_dict = {
        "formatters": {
            "generic": {
                "()": "pythonjsonlogger.json.JsonFormatter",
                "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s",
                "rename_fields": {"asctime": "ts", "levelname": "level", "name": "logger"},
            }
        },
        "loggers": {
            "gunicorn.error": {"level": "INFO", "handlers": ["error_console"], "propagate": False},
            "gunicorn.access": {"level": "INFO", "handlers": ["console"], "propagate": False},
        },
    }


# gunicorn refuses some requests itself, before the application sees them (a request line over
# `limit_request_line`, too many or too large header fields, a malformed request line), with an
# HTML page. The contract answers every refusal as a problem: these too, with the same body the
# application would build.
SERVER_REFUSALS = {
    414: ApiErrorCode.URI_TOO_LONG,
    431: ApiErrorCode.HEADER_FIELDS_TOO_LARGE,
    500: ApiErrorCode.SERVER_ERROR,
    501: ApiErrorCode.NOT_IMPLEMENTED,  # a Transfer-Encoding gunicorn does not support
}


def write_problem(sock, status_int: int, reason: str, mesg: str) -> None:
    status = status_int if status_int in SERVER_REFUSALS else 400
    code = SERVER_REFUSALS.get(status, ApiErrorCode.BAD_REQUEST)
    phrase = HTTPStatus(status).phrase  # gunicorn passes "Bad Request" with its 501
    request_id = uuid.uuid4().hex  # as django-guid would make one: no request, no id sent to keep
    logging.getLogger("shop.access").warning(
        "event=refused_by_server status=%s code=%s detail=%r",
        status,
        code,
        mesg[:200],
        extra={"request_id": request_id},  # the id the client got, in both log formats
    )
    try:
        from shop.api.problems import problem_body  # the app is loaded in the worker by now

        document = problem_body(status=status, code=code, detail=mesg)
    except Exception:  # the answer must go out whatever the state of the app
        document = {"type": "about:blank", "title": phrase, "status": status, "code": code, "detail": mesg}
    body = json.dumps({**document, "request_id": request_id}).encode()
    head = (
        f"HTTP/1.1 {status} {phrase}\r\n"
        "Connection: close\r\n"
        "Content-Type: application/problem+json\r\n"
        f"X-Request-ID: {request_id}\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    util.write_nonblock(sock, head.encode("latin-1") + body)


util.write_error = write_problem
