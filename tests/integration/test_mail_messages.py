"""The e-mails as the service writes and sends them: the .eml file a README reader opens with
`cat`, the lock notice's end in Paris time taken from the event, the recovery's wording, and
8bit text parts through an SMTP server, with or without 8BITMIME."""

from __future__ import annotations

import smtplib
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from email import message_from_bytes, policy
from zoneinfo import ZoneInfo

import pytest

from adapters.mail import SmtpMailSender
from adapters.mail_messages import MailComposer
from tests.helpers import (
    IDENTITY,
    both_parts,
    free_port,
    inbox,
    lock,
    open_account,
    register_member,
    text_of,
    urls_of,
    words,
)

PORTAL = "http://localhost:5000"  # ACCOUNTS_PORTAL_URL's default


def test_the_credentials_eml_file_reads_with_cat_and_links_to_the_sign_in_page(client, services):
    identifier, password = register_member(client, services)
    [path] = sorted(services.settings.mail.directory.glob("*.eml"))
    raw = path.read_bytes()
    # What `cat` shows: the contract's lines and the accents as they are, no =C3=A9.
    assert f"\nIdentifiant : {identifier}\nMot de passe temporaire : {password}\n".encode() in raw
    assert "Votre inscription à l'Espace Client est enregistrée.".encode() in raw
    [message] = inbox(services)
    assert message.get_content_type() == "multipart/alternative"
    plain, html = both_parts(message)
    assert plain == html
    urls = urls_of(message)
    assert set(urls) == {f"{PORTAL}/connexion", f"{PORTAL}/contact"}
    assert not any(password in url or identifier in url for url in urls)


def test_the_lock_notice_says_when_the_lock_ends_in_paris_time(client, services, clock):
    identifier, _ = register_member(client, services)
    inbox(services)
    clock.now = clock.now.replace(second=0, microsecond=0)
    lock(client, identifier)
    [notice] = [m for m in inbox(services) if "bloqué" in m["Subject"]]
    end = (clock.now + timedelta(minutes=15)).astimezone(ZoneInfo("Europe/Paris"))
    shown = end.strftime("%d/%m/%Y à %H\u00a0h\u00a0%M")
    assert f"bloqué jusqu'au {shown} (heure de Paris)." in words(text_of(notice))
    assert set(urls_of(notice)) == {
        f"{PORTAL}/codes-oublies", f"{PORTAL}/connexion", f"{PORTAL}/contact",
    }


def test_a_recovery_email_keeps_the_own_password_until_the_temporary_one_is_used(
    client, services
):
    open_account(client, services)
    assert client.post("/api/v1/recoveries", json=IDENTITY).status_code == 202
    [message] = inbox(services)
    text = words(text_of(message))
    assert "première connexion" not in text
    assert "il reste valable tant que vous n'avez pas utilisé ce mot de passe temporaire" in text


class Envelopes:
    """aiosmtpd handler: what the client declared (MAIL FROM options) and the raw data."""

    def __init__(self) -> None:
        self.received: list[tuple[list[str], bytes]] = []

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd calls it so
        self.received.append((list(envelope.mail_options), bytes(envelope.content)))
        return "250 Message accepted for delivery"


@contextmanager
def smtp_sink(handler: Envelopes, **server_kwargs) -> Iterator[int]:
    """aiosmtpd on a free port with this handler, for the with block; its port."""
    from aiosmtpd.controller import Controller

    controller = Controller(handler, hostname="127.0.0.1", port=free_port(), **server_kwargs)
    controller.start()
    try:
        yield controller.port
    finally:
        controller.stop()


def send_through_smtp(monkeypatch, eight_bit_server: bool) -> tuple[list[str], bytes]:
    if not eight_bit_server:
        has_extn = smtplib.SMTP.has_extn
        monkeypatch.setattr(smtplib.SMTP, "has_extn",
                            lambda smtp, name: name.lower() != "8bitmime" and has_extn(smtp, name))
    handler = Envelopes()
    with smtp_sink(handler) as port:
        message = MailComposer("Espace Client <no-reply@example.org>", PORTAL).credentials(
            "helene@example.org", "12345678", "AbcdEfgh3j", "registration"
        )
        SmtpMailSender("127.0.0.1", port).send(message)
    [(options, content)] = handler.received
    return options, content


def test_an_8bitmime_server_is_sent_the_8bit_parts_and_told_so(monkeypatch):
    options, content = send_through_smtp(monkeypatch, eight_bit_server=True)
    assert "BODY=8BITMIME" in options
    assert "Votre inscription à l'Espace Client".encode() in content


def test_a_server_without_8bitmime_is_sent_7bit_data_saying_the_same(monkeypatch):
    options, content = send_through_smtp(monkeypatch, eight_bit_server=False)
    assert "BODY=8BITMIME" not in options
    assert content.isascii()
    message = message_from_bytes(content.replace(b"\r\n", b"\n"), policy=policy.default)
    assert "\nIdentifiant : 12345678\nMot de passe temporaire : AbcdEfgh3j\n" in text_of(message)
    plain, html = both_parts(message)
    assert plain == html and "Votre inscription à l'Espace Client" in plain


class Sessions(Envelopes):
    """Which connection (aiosmtpd's session) each message came on, and the NOOPs asked."""

    def __init__(self) -> None:
        super().__init__()
        self.sessions: list[int] = []
        self.noops = 0

    async def handle_NOOP(self, server, session, envelope, arg):
        self.noops += 1
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.sessions.append(id(session))
        return await super().handle_DATA(server, session, envelope)




def a_message(number: int):
    return MailComposer("Espace Client <no-reply@example.org>", PORTAL).verification(
        f"helene{number}@example.org", f"7KQ2M9XR4TZP8W{number:02d}"
    )


def test_a_sending_thread_keeps_one_connection_for_its_messages():
    handler = Sessions()
    with smtp_sink(handler) as port:
        sender = SmtpMailSender("127.0.0.1", port)
        for number in range(3):
            sender.send(a_message(number))
        other = threading.Thread(target=sender.send, args=(a_message(3),))
        other.start()
        other.join()
        sender.send(a_message(4))
    assert len(handler.received) == 5
    first, second = handler.sessions[0], handler.sessions[3]
    assert handler.sessions == [first, first, first, second, first] and first != second
    # Nothing asked before a message on a kept one: a NOOP each was a command to the relay
    # and back per e-mail.
    assert handler.noops == 0


def test_a_connection_the_server_closed_while_idle_is_replaced_before_the_next_message():
    # aiosmtpd closes a connection idle for `timeout` seconds, as a server may after 5 minutes.
    handler = Sessions()
    with smtp_sink(handler, timeout=0.2) as port:
        sender = SmtpMailSender("127.0.0.1", port)
        sender.send(a_message(0))
        time.sleep(0.6)
        sender.send(a_message(1))  # no error: its 421 and close made the kept one readable
    assert len(handler.received) == 2
    assert handler.sessions[0] != handler.sessions[1]


def test_a_refused_message_drops_its_connection_and_the_next_one_opens_another():
    class RefusesFirst(Sessions):
        async def handle_DATA(self, server, session, envelope):
            if not self.sessions:
                self.sessions.append(id(session))
                return "554 Transaction failed"
            return await super().handle_DATA(server, session, envelope)

    handler = RefusesFirst()
    with smtp_sink(handler) as port:
        sender = SmtpMailSender("127.0.0.1", port)
        with pytest.raises(smtplib.SMTPDataError):
            sender.send(a_message(0))
        sender.send(a_message(1))
    assert len(handler.received) == 1
    assert handler.sessions[0] != handler.sessions[1]


def test_a_server_that_caps_messages_per_connection_gets_the_next_one_on_a_new_connection():
    # As Exim's smtp_accept_max_per_connection: 421 to MAIL FROM, nothing sent yet.
    class OnePerConnection(Sessions):
        async def handle_MAIL(self, server, session, envelope, address, mail_options):
            if getattr(session, "mailed", False):
                return "421 Too many messages on this connection"
            session.mailed = True
            envelope.mail_from, envelope.mail_options = address, list(mail_options)
            return "250 OK"

    handler = OnePerConnection()
    with smtp_sink(handler) as port:
        sender = SmtpMailSender("127.0.0.1", port)
        for number in range(3):
            sender.send(a_message(number))
    assert len(handler.received) == 3
    assert len(set(handler.sessions)) == 3  # each on its own connection, each once
