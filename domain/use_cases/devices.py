"""The member's devices: their live sessions, listed and ended (CONTRACT.md, "Members in
control"). Ending one's own session is a sign-out, which records nothing (sign_in.py); ending
another device's is an event on the account, so the member and the auditor see it done."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Protocol
from uuid import UUID

from domain.errors import AccountNotFoundError
from domain.lifecycle import AccountLifecycle, retried
from domain.ports import Clock


class SessionRecord(Protocol):
    """What the use cases read of a session: never its token."""

    @property
    def session_id(self) -> str: ...
    @property
    def digest(self) -> str: ...
    @property
    def created_at(self) -> datetime: ...
    @property
    def last_seen_at(self) -> datetime: ...
    @property
    def user_agent(self) -> str | None: ...


class ListedSessions(Protocol):
    def listed(self, account_id: UUID) -> Sequence[SessionRecord]:
        """The account's live sessions, the most recently seen first."""
        ...

    def end(self, account_id: UUID, session_id: str) -> SessionRecord | None:
        """Ends that live session of the account at once; None when it has none such."""
        ...

    def end_others(self, account_id: UUID, keep: str) -> Sequence[SessionRecord]:
        """Ends the account's live sessions but the one of digest `keep`; returns them."""
        ...


class SessionNotFoundError(AccountNotFoundError):
    """No live session of this member has that id (another member's is not theirs to know)."""


class Devices:
    def __init__(
        self, store: AccountLifecycle, sessions: ListedSessions,
        device_name: Callable[[str | None], str], clock: Clock,
    ):
        self.store = store
        self.sessions = sessions
        self.device_name = device_name  # the User-Agent in words (an adapter's parser)
        self.clock = clock

    def listed(self, account_id: UUID) -> Sequence[SessionRecord]:
        return self.sessions.listed(account_id)

    def end(self, account_id: UUID, session_id: str, current: str) -> SessionRecord:
        """Ends one of the member's sessions at once and returns it; `current` is the caller's
        own (digest), whose end is a sign-out."""
        ended = self.sessions.end(account_id, session_id)
        if ended is None:
            raise SessionNotFoundError(session_id)
        if ended.digest != current:
            self._record(account_id, [ended])
        return ended

    def end_others(self, account_id: UUID, current: str) -> int:
        """Ends every other session of the member; returns how many were live."""
        ended = self.sessions.end_others(account_id, keep=current)
        if ended:
            self._record(account_id, ended)
        return len(ended)

    @retried
    def _record(self, account_id: UUID, ended: Sequence[SessionRecord]) -> None:
        # The sessions end first: a lost race here must not leave one open.
        account = self.store.account(account_id)
        at = self.clock()
        for session in ended:
            account.end_session(self.device_name(session.user_agent), at)
        self.store.save(account)
