"""An account's e-mail address and its change ("Modifier mes infos"): the verification code's
lifetime and the Account methods that change the address.

`EmailChangeMixin` is a base of Account and adds no state: it reads what Account's `__init__`
and events set, and records through Account's event methods, which stay in Account's own class
body so that their topics stay domain.account:Account.<Name>.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from domain.errors import EmailVerificationInvalidError

EMAIL_VERIFICATION_LIFETIME = timedelta(hours=24)


class EmailChangeMixin:
    def change_email(self, new_email: str, reason: str, actor: str, at: datetime) -> None:
        self._check_open()
        if new_email == self.email:
            return
        self.email_changed(old=self.email, new=new_email, reason=reason, actor=actor, timestamp=at)

    def request_email_change(self, request_id: str, new_email: str, at: datetime) -> None:
        self._check_open()
        self.email_change_requested(
            request_id=request_id, new_email=new_email, actor=self.actor, timestamp=at
        )

    def is_email_change_pending(self, request_id: str) -> bool:
        return (
            self.is_open
            and self.email_change is not None
            and self.email_change.request_id == request_id
        )

    def is_email_verification_unattempted(self, request_id: str) -> bool:
        """Pending and no code ever drawn for it: its message was lost (see credentials)."""
        return self.is_email_change_pending(request_id) and self.email_change.token_digest is None

    def issue_email_verification(
        self, request_id: str, token_digest: str, at: datetime
    ) -> None:
        if not self.is_email_change_pending(request_id):
            raise EmailVerificationInvalidError(request_id)
        self.email_verification_issued(
            request_id=request_id,
            token_hash=token_digest,
            expires_at=at + EMAIL_VERIFICATION_LIFETIME,
            actor="system:email_verification",
            timestamp=at,
        )

    def verify_email(self, token_digest: str, at: datetime) -> None:
        """The newest code of the pending change, unexpired and unused, makes the change."""
        change = self.email_change
        if (
            not self.is_open
            or change is None
            or change.token_digest != token_digest
            or change.expires_at is None
            or at >= change.expires_at
        ):
            raise EmailVerificationInvalidError("unknown, used or expired code")
        self.change_email(change.new_email, "member", self.actor, at)
