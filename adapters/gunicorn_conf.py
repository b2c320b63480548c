"""gunicorn's settings (`gunicorn -c python:adapters.gunicorn_conf 'app:create_app()'`):
its own log lines as JSON like ours, and a graceful stop that lets requests in flight finish."""

import gc
import os

from prometheus_client import multiprocess

from adapters.logs import json_formatter

graceful_timeout = 30  # SIGTERM: stop accepting, finish what is in flight, then exit
# A request spends about half its time waiting on PostgreSQL: threads let another use the CPU
# meanwhile, and bcrypt releases the GIL. But threads of one process queue for its GIL after
# every round trip, so the Procfile runs 2 workers per core of 2 threads each: at 16 clients
# (issue 17's page bench) they served 1.5-2 times the signed-in pages of 2 workers of 4 threads,
# for about 8 % fewer registrations under wrk (docs/operations.md, "Process configuration":
# the trade is said there). Keep-alive spares a client a connection per
# request. WEB_THREADS stays within a worker's connection pool (5 + 10).
worker_class = "gthread"
threads = int(os.environ.get("WEB_THREADS", "2"))
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


def post_worker_init(worker) -> None:
    """The objects of the loaded application (some 180,000: modules, the app, its schemas)
    live as long as the worker: frozen out of the collector's reach, a full collection no
    longer walks them. Each walk took 150-300 ms under load, every request of the worker
    waiting behind it; issue 17's page bench served 30-60 % more pages once they were frozen."""
    gc.freeze()


def child_exit(server, worker) -> None:
    """A dead worker's live gauges must not linger in the multiprocess metrics directory."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.mark_process_dead(worker.pid)
