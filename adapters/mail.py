"""E-mail senders: the file: and smtp:// ones. What the e-mails say is adapters/mail_messages.py."""

from __future__ import annotations

import copy
import os
import smtplib
import threading
import uuid
from datetime import UTC, datetime
from email.message import Message
from pathlib import Path
from typing import Protocol

from adapters.idle_socket import has_spoken

# Re-exported (tests/unit/test_mail_outcomes.py): the notices' types were defined here.
from adapters.mail_messages import NOTICE_EVENTS  # noqa: F401
from adapters.settings import Mail


class MailSender(Protocol):
    def send(self, message: Message) -> None: ...


class FileMailSender:
    """One .eml file per message: the embedded default, readable with any mail client, and
    with `cat` (its text parts are 8bit UTF-8)."""

    def __init__(self, directory: Path):
        self.directory = directory

    def send(self, message: Message) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
        final = self.directory / f"{stamp}-{uuid.uuid4().hex[:8]}.eml"
        partial = final.with_suffix(".tmp")
        partial.write_bytes(bytes(message))
        # A reader never sees half a message: the rename is atomic.
        os.replace(partial, final)


class SmtpMailSender:
    """One SMTP connection per sending thread, kept between its messages: a new one for each
    (TCP, greeting, EHLO, QUIT) was 2 ms of a mail worker's CPU per e-mail under load. A kept
    connection that the server closed meanwhile (RFC 5321 lets it after 5 minutes idle) is
    replaced, not failed: it is checked before each message without a round trip (see
    `_closed`); a server that answers 421 to MAIL FROM on a kept one (a cap of messages per
    connection) gets the message again on a new one, nothing having been sent. Any other error
    drops the connection, and the next message opens a new one."""

    def __init__(self, host: str, port: int, timeout: float = 10.0):
        self.host = host
        self.port = port
        self.timeout = timeout
        self._kept = threading.local()

    def send(self, message: Message) -> None:
        while True:  # twice at most: the second connection is a new one, never kept
            smtp, kept = self._connection()
            try:
                self._send(smtp, message)
                return
            except smtplib.SMTPSenderRefused as refused:
                self._drop()
                if not (kept and refused.smtp_code == 421):
                    raise
            except BaseException:
                self._drop()
                raise

    @staticmethod
    def _send(smtp: smtplib.SMTP, message: Message) -> None:
        if smtp.has_extn("8bitmime"):
            # The parts are 8bit: the envelope says so (RFC 6152).
            smtp.send_message(message, mail_options=["BODY=8BITMIME"])
        else:
            smtp.send_message(seven_bit(message))

    def _connection(self) -> tuple[smtplib.SMTP, bool]:
        """The thread's connection, and whether it is a kept one."""
        smtp: smtplib.SMTP | None = getattr(self._kept, "smtp", None)
        if smtp is not None:
            if not _closed(smtp):
                return smtp, True
            self._drop()
        smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        try:
            smtp.ehlo()
        except BaseException:
            smtp.close()
            raise
        self._kept.smtp = smtp
        return smtp, False

    def _drop(self) -> None:
        """Closed without QUIT: after an error the server may be the one not answering."""
        smtp = getattr(self._kept, "smtp", None)
        self._kept.smtp = None
        if smtp is not None:
            smtp.close()


def _closed(smtp: smtplib.SMTP) -> bool:
    """Whether the server ended a kept connection (its 421, or a bare end of stream), asked
    without a round trip: a NOOP was one more command per e-mail, to the relay and back."""
    return smtp.sock is None or has_spoken(smtp.sock.fileno())


def seven_bit(message: Message) -> Message:
    """The same message for a server without 8BITMIME, which may not be sent 8-bit data:
    flattened under a 7bit policy, the email package re-encodes each 8bit part (base64)."""
    shallow = copy.copy(message)
    shallow.policy = message.policy.clone(cte_type="7bit")
    return shallow


def mail_sender(settings: Mail) -> MailSender:
    if settings.kind == "file":
        assert settings.directory is not None
        return FileMailSender(settings.directory)
    return SmtpMailSender(settings.host, settings.port)
