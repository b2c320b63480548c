"""Logs: one JSON object per line, from our code and from the libraries alike, each carrying
the id of the request that caused it, in the API and in the worker jobs that request enqueued.

structlog renders every stdlib logging record (gunicorn's, dramatiq's, ours) as JSON and adds
what structlog.contextvars holds: the API binds `request_id` per request, and a dramatiq
middleware carries it in the message's options to the job that runs it.
"""

from __future__ import annotations

import logging
import re
import sys
import uuid
from typing import Any

import dramatiq
import structlog
from dramatiq.middleware import Middleware

REQUEST_ID = "request_id"
# A caller's X-Request-ID is kept only when it is short and plain: it ends up in every line.
ACCEPTABLE_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")

_PRE_CHAIN: list[Any] = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    structlog.stdlib.ExtraAdder(),
    structlog.processors.TimeStamper(fmt="iso", utc=True),
]


def json_formatter() -> structlog.stdlib.ProcessorFormatter:
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=_PRE_CHAIN,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(ensure_ascii=False),
        ],
    )


def configure(level: int = logging.INFO, force: bool = False) -> None:
    """Root logger -> stderr as JSON lines. Leaves an existing set-up alone unless forced
    (pytest's capture, or an embedding application's own)."""
    root = logging.getLogger()
    if root.handlers and not force:
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(json_formatter())
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)


def request_id(supplied: str | None) -> str:
    return supplied if supplied and ACCEPTABLE_ID.match(supplied) else uuid.uuid4().hex


def bind_request(value: str) -> None:
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(**{REQUEST_ID: value})


def unbind_request() -> None:
    structlog.contextvars.clear_contextvars()


def current_request_id() -> str | None:
    return structlog.contextvars.get_contextvars().get(REQUEST_ID)


class RequestIdMiddleware(Middleware):
    """Carries the enqueuing request's id to the job, and binds it while the job runs."""

    def before_enqueue(self, broker: dramatiq.Broker, message: Any, delay: int) -> None:
        value = current_request_id()
        if value is not None:
            message.options[REQUEST_ID] = value

    def before_process_message(self, broker: dramatiq.Broker, message: Any) -> None:
        structlog.contextvars.clear_contextvars()
        value = message.options.get(REQUEST_ID)
        if value is not None:
            structlog.contextvars.bind_contextvars(
                **{REQUEST_ID: value, "job": message.actor_name}
            )

    def after_process_message(
        self, broker: dramatiq.Broker, message: Any, *, result: Any = None,
        exception: BaseException | None = None,
    ) -> None:
        structlog.contextvars.clear_contextvars()

    after_skip_message = after_process_message
