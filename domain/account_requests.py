"""The requests an account keeps pending: credentials e-mails and e-mail changes.

A snapshot of an Account stores them through the transcodings "credentials_request" and
"email_change" (domain/lifecycle.py), which write their fields by name: renaming or removing
one breaks the snapshots already stored.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass
class CredentialsRequest:
    request_id: str
    reason: str
    requested_at: datetime
    issued: bool = False
    sent: bool = False
    failures: int = 0
    overdue: bool = False


@dataclass
class EmailChange:
    request_id: str
    new_email: str
    requested_at: datetime
    token_digest: str | None = None
    expires_at: datetime | None = None
