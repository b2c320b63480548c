"""E-mail senders: the file: and smtp:// ones. What the e-mails say is adapters/mail_messages.py."""

from __future__ import annotations

import copy
import os
import smtplib
import uuid
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Protocol

# Re-exported (tests/unit/test_mail_outcomes.py): the notices' types were defined here.
from adapters.mail_messages import NOTICE_EVENTS  # noqa: F401
from adapters.settings import Mail


class MailSender(Protocol):
    def send(self, message: EmailMessage) -> None: ...


class FileMailSender:
    """One .eml file per message: the embedded default, readable with any mail client, and
    with `cat` (its text parts are 8bit UTF-8)."""

    def __init__(self, directory: Path):
        self.directory = directory

    def send(self, message: EmailMessage) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
        final = self.directory / f"{stamp}-{uuid.uuid4().hex[:8]}.eml"
        partial = final.with_suffix(".tmp")
        partial.write_bytes(bytes(message))
        # A reader never sees half a message: the rename is atomic.
        os.replace(partial, final)


class SmtpMailSender:
    def __init__(self, host: str, port: int, timeout: float = 10.0):
        self.host = host
        self.port = port
        self.timeout = timeout

    def send(self, message: EmailMessage) -> None:
        with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
            smtp.ehlo()
            if smtp.has_extn("8bitmime"):
                # The parts are 8bit: the envelope says so (RFC 6152).
                smtp.send_message(message, mail_options=["BODY=8BITMIME"])
            else:
                smtp.send_message(seven_bit(message))


def seven_bit(message: EmailMessage) -> EmailMessage:
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
