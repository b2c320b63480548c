"""Production shape, end to end: API -> event store -> Redis -> `dramatiq workers.main` -> SMTP.

Real servers only: PostgreSQL (or a SQLite file shared by both processes), Redis, a separate
dramatiq worker process and an aiosmtpd server. The first test also proves the temporary password
leaves the system only in the e-mail: not in any table, Redis key, or log line.
"""

from __future__ import annotations

import logging
import re
import socket
import string
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import psycopg
import pytest
import redis
from aiosmtpd.controller import Controller
from psycopg import sql

from app import create_app
from tests.conftest import DEMO_CSV, make_settings
from tests.processes import Child, service_env, start, stop

ROOT = Path(__file__).resolve().parents[2]
DEADLINE = 30.0  # seconds: worker start-up plus one delivery, with a wide margin
NAMESPACE = "dramatiq"  # dramatiq's default Redis key prefix
REGISTRATION = {
    "member_number": "M1000001",
    "last_name": "Dupré-Lefèvre",
    "first_name": "Hélène",
    "birth_date": "1978-04-12",
    "email": "helene@example.org",
}

# SMTP: a real server on a free port that keeps what it receives.

@dataclass
class Received:
    rcpt_tos: list[str]
    content: bytes

    @property
    def message(self) -> EmailMessage:
        return message_from_bytes(self.content, policy=policy.default)  # type: ignore[return-value]

@dataclass
class CollectingHandler:
    messages: list[Received] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self._lock:
            self.messages.append(Received(list(envelope.rcpt_tos), bytes(envelope.content)))
        return "250 Message accepted for delivery"

    def snapshot(self) -> list[Received]:
        with self._lock:
            return list(self.messages)

@dataclass
class SmtpServer:
    port: int
    handler: CollectingHandler

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]

@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    handler = CollectingHandler()
    controller = Controller(handler, hostname="127.0.0.1", port=_free_port())
    controller.start()
    try:
        yield SmtpServer(controller.port, handler)
    finally:
        controller.stop()

# The API process (this one) and the worker process.

@contextmanager
def running_app(tmp_path: Path, database_url: str, redis_url: str, mail_url: str) -> Iterator[Any]:
    settings = make_settings(
        tmp_path, database_url, ACCOUNTS_REDIS_URL=redis_url, ACCOUNTS_MAIL_URL=mail_url
    )
    app = create_app(settings)
    services = app.extensions["accounts"]
    try:
        services.directory.import_csv(DEMO_CSV.read_text(encoding="utf-8"))
        yield app
    finally:
        services.close()

@contextmanager
def dramatiq_worker(
    tmp_path: Path, database_url: str, redis_url: str, mail_url: str
) -> Iterator[Child]:
    env = service_env(database_url, mail_url, redis_url)
    worker = start(
        [sys.executable, "-m", "dramatiq", "workers.main", "--processes", "1", "--threads", "2"],
        env,
        tmp_path / "worker.log",
    )
    try:
        yield worker
    finally:
        stop(worker.process)

def wait_for(what: str, condition: Callable[[], Any], worker: Child) -> Any:
    """Poll until `condition()` is truthy; fail early, with the worker's log, if it died."""
    deadline = time.monotonic() + DEADLINE
    while True:
        result = condition()
        if result:
            return result
        if not worker.alive():
            pytest.fail(
                f"the worker exited ({worker.process.returncode}) before {what}:\n{worker.log()}"
            )
        if time.monotonic() > deadline:
            pytest.fail(f"no {what} within {DEADLINE:.0f} s; worker log:\n{worker.log()}")
        time.sleep(0.1)

def register(app: Any) -> None:
    response = app.test_client().post("/api/v1/registrations", json=REGISTRATION)
    assert response.status_code == 201, response.get_data(as_text=True)
    assert response.get_json()["status"] == "accepted"

# Where a secret could leak.

def postgres_dump(database_url: str) -> str:
    """Every row of every user table as text, then every bytea value decoded (events are bytea)."""
    rows: list[str] = []
    with psycopg.connect(database_url, autocommit=True) as conn:
        tables = conn.execute(
            "SELECT table_schema, table_name FROM information_schema.tables"
            " WHERE table_schema NOT IN ('pg_catalog', 'information_schema')"
            " AND table_type = 'BASE TABLE'"
        ).fetchall()
        assert tables, "no table in the database: the dump would prove nothing"
        for schema, table in tables:
            name = sql.Identifier(schema, table)
            rows.extend(
                text for (text,) in conn.execute(sql.SQL("SELECT t::text FROM {} t").format(name))
            )
            columns = conn.execute(
                "SELECT column_name FROM information_schema.columns"
                " WHERE table_schema = %s AND table_name = %s AND data_type = 'bytea'",
                (schema, table),
            ).fetchall()
            for (column,) in columns:
                query = sql.SQL("SELECT {} FROM {}").format(sql.Identifier(column), name)
                rows.extend(
                    bytes(value).decode("utf-8", errors="backslashreplace")
                    for (value,) in conn.execute(query)
                    if value is not None
                )
    return "\n".join(rows)

def around(text: str, needle: str, width: int = 120) -> list[str]:
    """Each place `needle` occurs, with some context: a failure shows where the secret leaked."""
    return [
        text[max(0, m.start() - width) : m.end() + width]
        for m in re.finditer(re.escape(needle), text)
    ]

def redis_dump(redis_url: str) -> list[bytes]:
    """Every key of the test's Redis DB and every value under it, whatever its type."""
    client = redis.Redis.from_url(redis_url)
    items: list[bytes] = []
    try:
        for key in client.scan_iter(count=1000):
            items.append(key)
            kind = client.type(key).decode()
            if kind == "string":
                items.append(client.get(key) or b"")
            elif kind == "list":
                items.extend(client.lrange(key, 0, -1))
            elif kind == "hash":
                for k, v in client.hgetall(key).items():
                    items.extend((k, v))
            elif kind == "set":
                items.extend(client.smembers(key))
            elif kind == "zset":
                items.extend(member for member, _ in client.zrange(key, 0, -1, withscores=True))
            elif kind == "stream":
                for entry_id, fields in client.xrange(key):
                    items.append(entry_id)
                    for k, v in fields.items():
                        items.extend((k, v))
            elif kind != "none":  # "none": the key went away between SCAN and TYPE
                pytest.fail(f"Redis key {key!r} has a type this test cannot read: {kind}")
    finally:
        client.close()
    return items

def mail_queue_settled(client: redis.Redis) -> bool:
    """True once the mail queue holds nothing: not queued, not in flight, not delayed for retry."""
    queue = f"{NAMESPACE}:mail"
    pipe = client.pipeline()
    pipe.llen(queue)
    pipe.hlen(f"{queue}.msgs")
    pipe.hlen(f"{queue}.DQ.msgs")
    pipe.hlen(f"{queue}.XQ.msgs")
    return not any(pipe.execute())

# The e-mail.

IDENTIFIER_LINE = re.compile(r"Identifiant : (\S*)")
PASSWORD_LINE = re.compile(r"Mot de passe temporaire : (\S*)")

def read_credentials(received: Received) -> tuple[str, str]:
    assert received.rcpt_tos == [REGISTRATION["email"]]
    message = received.message
    assert message["To"] == REGISTRATION["email"]
    assert message.get_content_type() == "text/plain"
    assert not message.is_multipart()
    body = message.get_content()
    assert isinstance(body, str)
    lines = [line.rstrip("\r") for line in body.split("\n")]
    # French: the subject and the greeting, with their accents intact after the transfer encoding.
    assert "Vos codes d'accès" in str(message["Subject"])
    assert lines[0] == "Bonjour,"
    assert "Cordialement," in lines

    identifiers = [m[1] for line in lines if (m := IDENTIFIER_LINE.fullmatch(line))]
    passwords = [m[1] for line in lines if (m := PASSWORD_LINE.fullmatch(line))]
    assert len(identifiers) == 1 and len(passwords) == 1, body
    identifier, password = identifiers[0], passwords[0]
    assert re.fullmatch(r"[0-9]{8}", identifier), identifier
    assert len(password) == 10, password
    assert sum(c in string.ascii_letters for c in password) == 9, password
    assert sum(c in string.digits for c in password) == 1, password
    return identifier, password

# The tests.

def test_a_postgres_registration_is_emailed_by_a_worker_process_and_its_password_kept_nowhere(
    tmp_path: Path,
    postgres_url: str,
    redis_url: str,
    smtp_server: SmtpServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    with (
        running_app(tmp_path, postgres_url, redis_url, smtp_server.url) as app,
        dramatiq_worker(tmp_path, postgres_url, redis_url, smtp_server.url) as worker,
    ):
        register(app)
        received = wait_for("e-mail", smtp_server.handler.snapshot, worker)
        identifier, password = read_credentials(received[0])
        # The worker records the delivery, then acknowledges the job: only then is all written.
        with closing(redis.Redis.from_url(redis_url)) as client:
            wait_for("settled mail queue", lambda: mail_queue_settled(client), worker)
        database = postgres_dump(postgres_url)
        redis_items = redis_dump(redis_url)
    # The worker is stopped: its log is complete.
    worker_log = worker.log()

    assert len(smtp_server.handler.snapshot()) == 1

    # Controls: each search can find what is there.
    assert identifier in database, "the identifier is stored in clear in the events"
    assert redis_items, "the Redis DB was empty: the search would prove nothing"
    assert "Worker process is ready for action" in worker_log, worker_log
    # aiosmtpd's own transcript ("mail.log") is the mailbox side: it holds the e-mail by design.
    our_logs = "\n".join(
        caplog.handler.format(record)
        for record in caplog.records
        if not record.name.startswith("mail.log")
    )
    assert "Enqueueing message" in our_logs  # dramatiq's debug line, from this process

    # The secret: in the e-mail only.
    assert around(database, password) == []
    assert around(database, password.encode().hex()) == []  # bytea as t::text renders it
    assert [item for item in redis_items if password.encode() in item] == []
    assert around(worker_log, password) == []
    assert around(our_logs, password) == []

def test_a_registration_on_sqlite_shared_with_a_worker_process_emails_credentials(
    tmp_path: Path, redis_url: str, smtp_server: SmtpServer
) -> None:
    database_url = f"sqlite:///{tmp_path}/accounts.sqlite3"
    with (
        running_app(tmp_path, database_url, redis_url, smtp_server.url) as app,
        dramatiq_worker(tmp_path, database_url, redis_url, smtp_server.url) as worker,
    ):
        register(app)
        received = wait_for("e-mail", smtp_server.handler.snapshot, worker)
    assert len(received) == 1
    read_credentials(received[0])
