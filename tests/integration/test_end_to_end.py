"""Production shape, end to end: API -> event store -> Redis -> `dramatiq workers.main` -> SMTP.

Real servers only: PostgreSQL (or a SQLite file shared by both processes), Redis, a separate
dramatiq worker process and an aiosmtpd server. The first test also proves the temporary password
leaves the system only in the e-mail: not in any table, Redis key, or log line.
"""

from __future__ import annotations

import logging
import re
import string
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

import pytest
import redis

from app import create_app
from tests.helpers import DEMO_CSV, Received, SmtpServer, make_settings, postgres_dump, text_of
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
    # Both parts came through SMTP; the contract's lines are read in the text one.
    assert message.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in message.iter_parts()] == ["text/plain", "text/html"]
    body = text_of(message)
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
