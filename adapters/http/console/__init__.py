"""The support console (/support/): every support task as server-rendered French pages, over
the use cases the support API calls (CONTRACT.md, "Console").

No JavaScript: plain links and forms. Every form is CSRF-checked (Flask-WTF); every answer is
`no-store` with the portal's policy (our own stylesheet only). The agent signs in with a support
token (session.py); the routes live in sign_in.py, queue.py (the queue and its items),
decisions.py (deciding them) and accounts.py (search, account page, re-send, unlock). An
auditor signs in with an auditor token and sees only the audit pages (audit_pages.py).
"""

from __future__ import annotations

from adapters.http.console import (  # noqa: F401  (their routes join the blueprint)
    accounts,
    audit_pages,
    decisions,
    queue,
    sign_in,
)
from adapters.http.console.blueprint import bp

__all__ = ["bp"]
