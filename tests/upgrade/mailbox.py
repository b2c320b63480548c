"""The mailbox both releases write to, and what the contract says their e-mails hold."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage

from tests.helpers import text_of
from tests.upgrade.releases import Fleet

PASSWORD = re.compile(r"^Mot de passe temporaire : (\S+?)\r?$", re.M)
IDENTIFIER = re.compile(r"^Identifiant : (\d{8})\r?$", re.M)
CODE = re.compile(r"^Code de vérification : (\S+?)\r?$", re.M)


def kind_of(message: EmailMessage) -> str:
    """What the contract says the e-mail is: credentials, a verification code, or a notice
    (every other e-mail: password change, lockout, closure, rejection, reimbursement alert)."""
    body = text_of(message)
    if PASSWORD.search(body):
        return "credentials"
    if CODE.search(body):
        return "verification"
    return "notice"


@dataclass
class Mailbox:
    """Every e-mail the releases sent (a directory of .eml files, or what the SMTP server
    accepted), and every e-mail the story made due."""

    read: Callable[[], list[EmailMessage]]
    expected: Counter[tuple[str, str]] = field(default_factory=Counter)
    taken: set[str] = field(default_factory=set)

    def expect(self, to: str, kind: str) -> None:
        self.expected[(to, kind)] += 1

    def received(self) -> Counter[tuple[str, str]]:
        return Counter((str(m["To"]), kind_of(m)) for m in self.read())

    def message_ids(self) -> set[str]:
        return {str(m["Message-ID"]) for m in self.read()}

    def take(self, fleet: Fleet, to: str, kind: str) -> EmailMessage:
        """One more e-mail of `kind` is due to `to`: waits for it and returns it."""
        self.expect(to, kind)

        def arrived() -> EmailMessage | None:
            return next((m for m in self.read() if str(m["To"]) == to and kind_of(m) == kind
                         and str(m["Message-ID"]) not in self.taken), None)

        message = fleet.wait(f"{kind} e-mail to {to}", arrived)
        self.taken.add(str(message["Message-ID"]))
        return message

    def wait_all(self, fleet: Fleet) -> None:
        """Waits for as many e-mails as are due, then each due e-mail must be there once."""
        due = sum(self.expected.values())
        fleet.wait(f"the {due} e-mails due", lambda: sum(self.received().values()) >= due)
        received = self.received()
        assert received == self.expected, (
            f"missing: {dict(self.expected - received)}; "
            f"unexpected or twice: {dict(received - self.expected)}"
        )


def credentials(message: EmailMessage) -> tuple[str, str]:
    body = text_of(message)
    return IDENTIFIER.search(body).group(1), PASSWORD.search(body).group(1)


def verification_code(message: EmailMessage) -> str:
    return CODE.search(text_of(message)).group(1)
