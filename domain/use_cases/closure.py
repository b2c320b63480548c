"""Closure and erasure: the member asks, support accepts, the account closes, its sessions end
and its member's personal data is crypto-shredded (their key destroyed, then recorded)."""

from __future__ import annotations

from uuid import UUID

from domain.errors import InvalidTransitionError
from domain.lifecycle import AccountLifecycle, retried
from domain.ports import Ports
from domain.support_request import RequestKind, SupportRequest
from domain.use_cases.sign_in import SignIn


class Closure:
    def __init__(self, store: AccountLifecycle, ports: Ports, sign_in: SignIn):
        self.store = store
        self.directory = ports.directory
        self.sessions = ports.sessions
        self.subjects = ports.subjects
        self.clock = ports.clock
        self.sign_in = sign_in

    def request_closure(self, account_id: UUID, password: str) -> UUID:
        """The member's own closure request ("clôture sur demande"); support decides it."""
        account, checked = self.sign_in.confirm_password(account_id, password, "password")
        entry = self.directory.find(account.member_number)
        names = (entry.last_name, entry.first_name) if entry else ("", "")
        return self._request(account_id, names, checked)

    @retried
    def _request(self, account_id: UUID, names: tuple[str, str], checked: str) -> UUID:
        account = self.store.account(account_id)
        self.sign_in.confirmed(account, checked, "password")
        request = SupportRequest(
            kind=RequestKind.CLOSURE.value, last_name=names[0], first_name=names[1],
            message="Demande de clôture faite depuis l'Espace Client.",
            member_number=account.member_number, birth_date=None,
            identifier=account.identifier, email=account.email, new_email=None,
            account_id=account.id, member_key=account.member_key, actor=account.actor,
            timestamp=self.clock(),
        )
        account.request_closure(request.id, self.clock())
        self.store.save(account, request)
        return request.id

    def accept(
        self, request_id: UUID, agent: str, note: str, reason: str | None = None
    ) -> SupportRequest:
        """Support accepts a closure request. Should the erasure fail after the closure is
        recorded, the scheduled check finishes it (workers/checks.py): closed is never left
        unerased."""
        request = self._close(request_id, agent, note, reason)
        self.sessions.revoke_all(request.account_id)
        self.erase_personal_data(request.account_id)
        return request

    @retried
    def _close(
        self, request_id: UUID, agent: str, note: str, reason: str | None
    ) -> SupportRequest:
        request = self.store.support_request(request_id)
        at = self.clock()
        request.accept(agent, note, None, at, reason=reason)
        account = self.store.account(request.account_id)
        account.close(agent, at)
        index = self.store.repository.get(account.member_key)
        # From this save on, the member number no longer finds this index (its lookup goes
        # with it): a new registration starts a new one, sharing nothing with this account.
        index.unlink_account(account_id=account.id, actor=f"support:{agent}", timestamp=at)
        self.store.save(request, account, index)
        return request

    def erase_personal_data(self, account_id: UUID) -> bool:
        """Destroy the closed account's member's keys, then record it. Idempotent; False when
        it was already done."""
        account = self.store.account(account_id)
        if account.personal_data_erased:
            return False
        if account.is_open:
            raise InvalidTransitionError("an open account keeps its personal data")
        self.subjects.destroy(account.member_key)
        self._record_erasure(account_id)
        return True

    @retried
    def _record_erasure(self, account_id: UUID) -> None:
        account = self.store.account(account_id)
        account.erase_personal_data(self.clock())
        self.store.save(account)
