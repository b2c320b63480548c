"""Plain helpers shared by the test files: constants, functions and small classes.

Fixtures live in the conftest.py files; no test file imports another test file, they import
what they share from here. Nothing here imports the domain at module level, so that every test
file can import this module whatever state one part of the application is in.
"""

from __future__ import annotations

import os
import re
import socket
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage, Message
from html.parser import HTMLParser
from pathlib import Path
from typing import TYPE_CHECKING, Any
from uuid import UUID, uuid4

import psycopg
from psycopg import sql

from adapters.settings import Settings

if TYPE_CHECKING:
    from domain.account import Account
    from domain.enrollment import Enrollment

# The servers the tests use, and the service's settings.

PG_HOST = os.environ.get("TEST_PG_HOST", "127.0.0.1")
PG_PORT = int(os.environ.get("TEST_PG_PORT", "5432"))
PG_USER = os.environ.get("TEST_PG_USER", "postgres")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379")
SECRET_KEY = "test-secret-key-that-is-long-enough-0123456789"
DEMO_CSV = Path(__file__).resolve().parent.parent / "demo" / "members.csv"


def make_settings(tmp_path: Path, database_url: str, **overrides: str) -> Settings:
    env = {
        "ACCOUNTS_DATABASE_URL": database_url,
        "ACCOUNTS_MAIL_URL": f"file://{tmp_path / 'mail'}",
        "ACCOUNTS_BCRYPT_ROUNDS": "4",
        "ACCOUNTS_SECRET_KEY": SECRET_KEY,
        "ACCOUNTS_RATE_LIMITS": "off",
        **overrides,
    }
    return Settings.from_env(env, var_dir=tmp_path / "var")


class FakeClock:
    """The application's clock, moved by hand: tests of expiry and lockout never sleep."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(condition, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"still waiting for {what} after {seconds} s"
        time.sleep(0.2)


# What the service did: its jobs, e-mails, events and tables.


def drain(services) -> None:
    """Run every queued job of the in-process worker to completion (re-raises failures)."""
    services.outbox.start_in_process_worker()
    services.broker.join("mail")


def read_mail(directory: Path) -> list[EmailMessage]:
    return [
        message_from_bytes(path.read_bytes(), policy=policy.default)
        for path in sorted(directory.glob("*.eml"))
    ]


def received(message: Message) -> EmailMessage:
    """The message as its reader gets it: its bytes parsed (the service builds its e-mails
    with the compat32 classes, adapters/mail_render.py)."""
    if isinstance(message, EmailMessage):
        return message
    return message_from_bytes(bytes(message), policy=policy.default)  # type: ignore[return-value]


def text_of(message: Message) -> str:
    """An e-mail's text/plain part (every e-mail is multipart/alternative, text and HTML)."""
    message = received(message)
    body = message.get_body(("plain",))
    assert body is not None, f"no text/plain part in {message['Subject']!r}"
    return body.get_content()


def html_of(message: Message) -> str:
    message = received(message)
    body = message.get_body(("html",))
    assert body is not None, f"no text/html part in {message['Subject']!r}"
    return body.get_content()


class ShownHtml(HTMLParser):
    """What an HTML part shows (not its <head>), and where its links lead."""

    BLOCKS = frozenset({"p", "br", "div", "li", "h1", "h2", "tr"})

    def __init__(self, html: str) -> None:
        super().__init__()
        self.shown: list[str] = []
        self.hrefs: list[str] = []
        self._in_head = False
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._in_head |= tag == "head"
        if tag == "a":
            self.hrefs.append(dict(attrs).get("href") or "")
        if tag in self.BLOCKS:
            self.shown.append(" ")

    def handle_endtag(self, tag: str) -> None:
        self._in_head &= tag != "head"

    def handle_data(self, data: str) -> None:
        if not self._in_head:
            self.shown.append(data)


PLAIN_URL = re.compile(r"\s*<(https?://[^>\s]+)>")


def words(text: str) -> str:
    """Text with its ASCII white space collapsed: no-break spaces stay what they are."""
    return re.sub(r"[ \t\r\n]+", " ", text).strip()


def both_parts(message: EmailMessage) -> tuple[str, str]:
    """(text part without its <URL>s, HTML part as shown), white space collapsed: an e-mail's
    two parts say the same thing when these are equal."""
    shown = "".join(ShownHtml(html_of(message)).shown)
    return words(PLAIN_URL.sub("", text_of(message))), words(shown)


def urls_of(message: EmailMessage) -> list[str]:
    """Every address either part links to or shows."""
    plain, html = text_of(message), html_of(message)
    shown = re.findall(r"https?://[^\s<>\"']+", plain + html)
    return [*PLAIN_URL.findall(plain), *ShownHtml(html).hrefs, *shown]


def event_types(services) -> list[str]:
    """The type names of every stored event, in order."""
    recorder = services.lifecycle.recorder
    notifications = recorder.select_notifications(start=1, limit=100_000)
    return [n.topic.rpartition(".")[2] for n in notifications]


def recorded(services, type_name: str) -> list:
    """The stored events of one type, as domain events (with actor, agent, note...)."""
    lifecycle = services.lifecycle
    return [
        lifecycle.mapper.to_domain_event(n)
        for n in lifecycle.recorder.select_notifications(start=1, limit=100_000)
        if n.topic.rpartition(".")[2] == type_name
    ]


def settle(services, timeout: float = 10.0) -> None:
    """Wait until the read models have processed every event recorded so far."""
    last = services.lifecycle.recorder.max_notification_id()
    if last:
        services.support_queue.wait("support_queue", last, timeout=timeout)
        services.portal.wait("portal", last, timeout=timeout)
        services.audit.wait("audit", last, timeout=timeout)
        services.audit_tree.wait("audit_tree", last, timeout=timeout)


def table_names(services) -> set[str]:
    """Every table of the service's database, from its catalogue."""
    db = services.database
    with db.transaction(commit=False) as cursor:
        if db.kind == "sqlite":
            cursor.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        else:
            cursor.execute(
                "SELECT table_name AS name FROM information_schema.tables"
                " WHERE table_schema = 'public'"
            )
        return {row["name"] for row in cursor.fetchall()}


def database_text(services, leave_out: frozenset[str] = frozenset()) -> str:
    """Every row of every table but `leave_out`, as text (bytes decoded), to search for leaked
    secrets and personal data."""
    tables = table_names(services)
    assert tables >= leave_out, leave_out - tables  # what is left out must exist
    chunks = []
    with services.database.transaction(commit=False) as cursor:
        for table in sorted(tables - leave_out):
            cursor.execute(f'SELECT * FROM "{table}"')  # names come from the catalogue
            for row in cursor.fetchall():
                for value in row.values():
                    if isinstance(value, bytes | bytearray | memoryview):
                        chunks.append(bytes(value).decode("utf-8", "replace"))
                    else:
                        chunks.append(str(value))
    return "\n".join(chunks)


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


# Registration (POST /api/v1/registrations) and the credentials e-mail.

HELENE = {
    "member_number": "M1000001", "last_name": "Dupré-Lefèvre", "first_name": "Hélène",
    "birth_date": "1978-04-12", "email": "helene@example.org",
}
IDENTIFIER = re.compile(r"^Identifiant : (\d{8})$", re.M)
PASSWORD = re.compile(r"^Mot de passe temporaire : ([A-Za-z0-9]{10})$", re.M)


def register(client, headers=None, **changes):
    return client.post("/api/v1/registrations", json={**HELENE, **changes}, headers=headers)


def mails(services):
    drain(services)
    return read_mail(services.settings.mail.directory)


def credentials(message) -> tuple[str, str]:
    body = text_of(message)
    return IDENTIFIER.search(body).group(1), PASSWORD.search(body).group(1)


# Sign-in, sessions and the member's password.

MEMBER = {
    "member_number": "M1000001", "last_name": "Dupré-Lefèvre", "first_name": "Hélène",
    "birth_date": "1978-04-12",
}
# An e-mail local part that is neither name, so that its rule is tested on its own.
EMAIL = "colibri.turquoise@example.org"
OWN = "Où sont passées les clés du château ?"
OTHER = "Sous le vieux pont, trois hérons guettent l'aube."


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def issued_credentials(services) -> list[tuple[str, str]]:
    """Every (identifier, temporary password) e-mailed so far, oldest first."""
    drain(services)
    return [
        credentials(m)
        for m in read_mail(services.settings.mail.directory)
        if "Mot de passe temporaire" in text_of(m)
    ]


def register_member(client, services) -> tuple[str, str]:
    """Demo member M1000001 registers; returns (identifier, temporary password) from the e-mail."""
    response = client.post("/api/v1/registrations", json={**MEMBER, "email": EMAIL})
    assert response.json["status"] == "accepted"
    [issued] = issued_credentials(services)
    return issued


def sign_in(client, identifier: str, password: str):
    return client.post("/api/v1/sessions", json={"identifier": identifier, "password": password})


def change_password(client, token: str, current: str, new: str):
    return client.put(
        "/api/v1/me/password",
        json={"current_password": current, "new_password": new},
        headers=bearer(token),
    )


def member_with_own_password(client, services, password: str = OWN) -> tuple[str, str]:
    """Registers, signs in with the temporary password and sets `password`: (identifier, token)."""
    identifier, temporary = register_member(client, services)
    token = sign_in(client, identifier, temporary).json["token"]
    assert change_password(client, token, temporary, password).status_code == 204
    return identifier, token


def assert_invalid_credentials(response) -> None:
    assert response.status_code == 401, response.json
    assert response.json["code"] == "invalid_credentials"


def lock(client, identifier: str) -> None:
    for _ in range(5):
        assert_invalid_credentials(sign_in(client, identifier, "Mauvais mot de passe 1"))


# An open account with a password of its own (recovery, e-mail change, alerts, portal).

OWN_PASSWORD = "Où sont passées les clés du château ?"
IDENTITY = {k: HELENE[k] for k in ("member_number", "last_name", "first_name", "birth_date")}
NEW_EMAIL = "helene.nouvelle@example.org"
CODE = re.compile(r"^Code de vérification : ([0-9A-Z]{16})$", re.M)


@dataclass(frozen=True)
class Member:
    identifier: str
    password: str
    headers: dict[str, str]


def inbox(services) -> list[EmailMessage]:
    """The e-mails written since the last call, once every queued job has run."""
    drain(services)
    directory = Path(services.settings.mail.directory)
    messages = read_mail(directory)
    for path in directory.glob("*.eml"):
        path.unlink()
    return messages


def session_bearer(response) -> dict[str, str]:
    """The headers of the session a sign-in `response` opened (it must have opened one)."""
    assert response.status_code == 201, response.json
    return {"Authorization": f"Bearer {response.json['token']}"}


def open_account(client, services, **registration: str) -> Member:
    """M1000001 registers, signs in with the temporary password and sets her own."""
    response = client.post("/api/v1/registrations", json={**HELENE, **registration})
    assert response.json["status"] == "accepted"
    [message] = inbox(services)
    identifier, temporary = credentials(message)
    headers = session_bearer(sign_in(client, identifier, temporary))
    changed = client.put(
        "/api/v1/me/password",
        json={"current_password": temporary, "new_password": OWN_PASSWORD},
        headers=headers,
    )
    assert changed.status_code == 204, changed.json
    inbox(services)  # the password-change notice
    return Member(
        identifier, OWN_PASSWORD, session_bearer(sign_in(client, identifier, OWN_PASSWORD))
    )


def put_alerts(client, member: Member, value: object):
    return client.put("/api/v1/me/alerts", json={"reimbursements": value}, headers=member.headers)


def assert_error(response, status: int, code: str) -> None:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.json["code"] == code and response.json["message"]


# One account's whole story, for the auditors.

ANSWER = "Médor-Zéphyrin"


def story(client, services, clock) -> dict[str, str]:
    """Registered, reviewed and approved, signed in, changed password and e-mail."""
    first = register(client, first_name="Hélèna", secret_question="Chien ?", secret_answer=ANSWER)
    support = bearer(services.staff_tokens.create("alice", "support"))
    clock.advance(minutes=5)
    decided = client.post(
        f"/api/v1/support/registrations/{first.json['registration_id']}/decision",
        json={"decision": "approve", "note": "vu au téléphone"}, headers=support,
    )
    assert decided.status_code == 200
    identifier, temporary = credentials(mails(services)[-1])
    clock.advance(minutes=5)
    token = client.post(
        "/api/v1/sessions", json={"identifier": identifier, "password": temporary}
    ).json["token"]
    assert client.put(
        "/api/v1/me/password", json={"current_password": temporary, "new_password": OWN},
        headers=bearer(token),
    ).status_code == 204
    opened_at = clock.now
    clock.advance(minutes=5)
    assert client.post(
        "/api/v1/me/email", json={"new_email": "neuve@example.org", "password": OWN},
        headers=bearer(token),
    ).status_code == 202
    code = next(
        text_of(m).split("Code de vérification : ")[1].split()[0]
        for m in mails(services) if m["To"] == "neuve@example.org"
    )
    assert client.post("/api/v1/email-verifications", json={"token": code}).status_code == 200
    drain(services)  # the notice of the change, and its NoticeSent, before the log is read
    settle(services)
    return {"identifier": identifier, "temporary": temporary, "token": token, "code": code,
            "opened_at": opened_at.isoformat()}


# The claims feed.

FEED = "/api/v1/internal/reimbursements"
LABEL = "Consultation ophtalmologie"


def days_ago(days: float) -> datetime:
    return datetime.now(UTC) - timedelta(days=days)


# Fixed once, so that two calls of feed_item() describe the same reimbursement.
PAID_AT = days_ago(3).isoformat()
CARE_DATE = days_ago(10).date().isoformat()


def feed_item(**changes: object) -> dict[str, object]:
    """Zoé's (a child on Hélène's contract) reimbursement, paid three days ago."""
    item: dict[str, object] = {
        "reimbursement_id": "R-2026-0001",
        "member_number": "M1000003",
        "contract_id": "SANTE-IND-001",
        "label": LABEL,
        "care_date": CARE_DATE,
        "paid_at": PAID_AT,
        "amount": "25.40",
    }
    item.update(changes)
    return item


# SMTP: aiosmtpd handlers that keep what the mail server accepted.


class Inbox:
    """aiosmtpd handler: keeps what the mail server accepted."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd calls it so
        content = envelope.content.replace(b"\r\n", b"\n")  # SMTP lines end in CRLF
        self.messages.append(message_from_bytes(content, policy=policy.default))
        return "250 Message accepted for delivery"


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


# A generated directory: many members, for bursts and long streams.

COLUMNS = (
    "member_number,last_name,first_name,birth_date,health_contract_id,health_contract_type,"
    "health_role,principal_member_number,relation,retirement"
)


def generated_members(count: int, prefix: str) -> list[tuple[str, str, str, date]]:
    """(member_number, last_name, first_name, birth_date) of `count` retirement contributors."""
    return [
        (f"{prefix}{n:06d}", f"Martin{n}", "Camille", date(1950, 1, 1) + timedelta(days=n))
        for n in range(count)
    ]


def directory_csv(members: list[tuple[str, str, str, date]]) -> str:
    rows = [
        f"{number},{last},{first},{born.isoformat()},,,,,,contributor"
        for number, last, first, born in members
    ]
    return "\n".join([COLUMNS, *rows]) + "\n"


# Aggregates, built directly (unit tests). The domain is imported when they are built.

T0 = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
# Member M1's data subject in the aggregates built here (random in the service).
MEMBER_KEY = UUID("0b3c2f5e-3d1a-4c6e-9f7a-2b8d4e6f1a3c")


def enrollment() -> Enrollment:
    from domain.enrollment import Enrollment

    return Enrollment(
        member_number="M1", member_key=MEMBER_KEY, last_name="Dupont", first_name="Marie",
        birth_date=date(1980, 1, 2),
        email="marie@example.org", secret_question=None, secret_answer_hash=None,
        actor="system:registration", timestamp=T0,
    )


def account() -> Account:
    from domain.account import Account

    return Account(
        identifier="12345678", member_number="M1", member_key=MEMBER_KEY,
        email="marie@example.org",
        sections=["health"], registration_id=uuid4(), secret_question=None,
        secret_answer_hash=None, actor="system:registration", timestamp=T0,
    )


def event_names(aggregate) -> list[str]:
    return [type(e).__name__ for e in aggregate.collect_events()]
