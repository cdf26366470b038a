"""gunicorn settings the command line cannot carry (server/bin/web passes the rest)."""

import os

from prometheus_client import multiprocess


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
