"""gunicorn's settings (`gunicorn -c python:adapters.gunicorn_conf 'app:create_app()'`):
its own log lines as JSON like ours, and a graceful stop that lets requests in flight finish."""

import os

from prometheus_client import multiprocess

from adapters.logs import json_formatter

graceful_timeout = 30  # SIGTERM: stop accepting, finish what is in flight, then exit
# A request spends about half its time waiting on PostgreSQL: threads let another use the CPU
# meanwhile (a probe under wrk: registrations from 213 to 240 per second with sync workers
# against these, on a busy machine), and bcrypt releases the GIL. Keep-alive spares a client a
# connection per request. WEB_THREADS stays within a worker's connection pool (5 + 10).
worker_class = "gthread"
threads = int(os.environ.get("WEB_THREADS", "4"))
accesslog = None  # the application logs each request itself, with its request id
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": json_formatter}},
    "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "json",
                            "stream": "ext://sys.stderr"}},
    "root": {"level": "INFO", "handlers": ["stderr"]},
    "loggers": {
        "gunicorn.error": {"level": "INFO", "handlers": [], "propagate": True},
        # A log configuration turns gunicorn's access lines on: ours say more (request id).
        "gunicorn.access": {"level": "WARNING", "handlers": [], "propagate": False},
    },
}


def child_exit(server, worker) -> None:
    """A dead worker's live gauges must not linger in the multiprocess metrics directory."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.mark_process_dead(worker.pid)
