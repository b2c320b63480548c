"""Fixtures shared by integration tests: a real SMTP server, and an app whose PostgreSQL
connections go through a TCP proxy the test controls."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import (
    DEMO_CSV,
    PG_HOST,
    PG_PORT,
    CollectingHandler,
    SmtpServer,
    free_port,
    make_settings,
)
from tests.proxy import TcpProxy


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    from aiosmtpd.controller import Controller

    handler = CollectingHandler()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield SmtpServer(controller.port, handler)
    finally:
        controller.stop()


@pytest.fixture
def proxied_app(tmp_path: Path, postgres_url: str):
    from app import create_app

    proxy = TcpProxy(PG_HOST, PG_PORT)
    url = postgres_url.replace(f"{PG_HOST}:{PG_PORT}", f"127.0.0.1:{proxy.port}")
    app = create_app(make_settings(tmp_path, url))
    services = app.extensions["accounts"]
    services.directory.import_csv(DEMO_CSV.read_text(encoding="utf-8"))
    yield app, proxy
    proxy.restore()
    services.close()
    proxy.close()
