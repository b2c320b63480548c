"""The support desk: requests from people who cannot sign in, the agents' decisions on
registrations under review and on requests, re-sent credentials, unlocking."""

from __future__ import annotations

import uuid
from uuid import UUID

from domain.account import Account
from domain.decision_reasons import checked_reason
from domain.enrollment import REVIEW
from domain.errors import AccountExistsError, AlreadyDecidedError
from domain.lifecycle import AccountLifecycle, retried
from domain.ports import Ports
from domain.states import EnrollmentStatus
from domain.support_request import RequestKind, SupportRequest, requester_address
from domain.use_cases.closure import Closure
from domain.use_cases.registration import open_account, registration_view
from domain.use_cases.views import RegistrationView, SupportRequestForm


class SupportDesk:
    def __init__(self, store: AccountLifecycle, ports: Ports, closure: Closure):
        self.store = store
        self.directory = ports.directory
        self.subjects = ports.subjects
        self.clock = ports.clock
        self.closure = closure

    @retried  # a racing request may index the same member first
    def submit_support_request(self, form: SupportRequestForm) -> UUID:
        """A request from someone who cannot sign in; linked to an account when one matches."""
        at = self.clock()
        account = None
        if form.identifier:
            account = self.store.account_by_identifier(form.identifier)
            if account is not None and not account.is_open:
                account = None  # a closed account's member is erased: nothing links to it
        index = None
        if account is None and form.member_number:
            subject = self.subjects.find(form.member_number)
            # A member the directory knows gets an index, so that their erasure takes this
            # request too; a number it does not know is not indexed (the request is its own
            # data subject).
            if subject is not None or self.directory.find(form.member_number) is not None:
                index = self.store.member_index(
                    subject, form.member_number, "system:support-request", at
                )
            if index is not None and index.account_id is not None:
                account = self.store.account(index.account_id)
        request = SupportRequest(
            kind=form.kind, last_name=form.last_name, first_name=form.first_name,
            message=form.message, member_number=form.member_number, birth_date=form.birth_date,
            identifier=form.identifier, email=form.email, new_email=form.new_email,
            account_id=account.id if account is not None else None,
            member_key=(
                account.member_key if account is not None
                else index.id if index is not None else None
            ),
            actor="system:support-request", timestamp=at,
            # Acknowledged by e-mail wherever one can reach the requester.
            acknowledge=account is not None or requester_address(
                form.kind, form.email, form.new_email
            ) is not None,
        )
        self.store.save(request, *([index] if index is not None else []))
        return request.id

    @retried
    def decide_registration(
        self, registration_id: UUID, approve: bool, agent: str, note: str,
        reason: str | None = None,
    ) -> RegistrationView:
        """Approve (an account is opened, credentials sent) or reject a registration that
        support reviews because the names did not match. `reason`: one of the codes
        domain/decision_reasons.py lists for that decision, or None."""
        checked_reason(REVIEW, "approve" if approve else "reject", reason)
        enrollment = self.store.enrollment(registration_id)
        at, actor = self.clock(), f"support:{agent}"
        if enrollment.status is not EnrollmentStatus.IDENTITY_REVIEW:
            raise AlreadyDecidedError(enrollment.status)
        index = self.store.repository.get(enrollment.member_key)
        if index.review_id != enrollment.id:
            # Another agent's decision committed between our two reads.
            raise AlreadyDecidedError(registration_id)
        if not approve:
            enrollment.reject(agent, note, at, reason=reason)
            index.close_review(registration_id=enrollment.id, actor=actor, timestamp=at)
            self.store.save(enrollment, index)
            return registration_view(enrollment, first=False)
        if index.account_id is not None and self.store.account(index.account_id).is_open:
            raise AccountExistsError(enrollment.member_number)
        entry = self.directory.find(enrollment.member_number)
        account, identifier_index = open_account(
            enrollment, entry.sections() if entry else [], at, reason="identity_approved"
        )
        enrollment.approve(agent, note, account.id, at, reason=reason)
        index.close_review(registration_id=enrollment.id, actor=actor, timestamp=at)
        index.link_account(account_id=account.id, actor=actor, timestamp=at)
        self.store.save(enrollment, index, account, identifier_index)
        return registration_view(enrollment, first=False)

    def decide_request(
        self, request_id: UUID, accept: bool, agent: str, note: str, new_email: str | None,
        reply: str | None = None, reason: str | None = None,
    ) -> SupportRequest:
        """Reject, or accept and do what was asked: an accepted closure closes the account,
        ends its sessions and erases its member (closure.py). `reply`, to the requester, is
        e-mailed with the decision (domain/support_request.py says when); `reason` is one of
        the codes domain/decision_reasons.py lists for that decision on that kind, or None."""
        request = self.store.support_request(request_id)
        # Refused before anything is recorded, an accepted closure's erasure included.
        checked_reason(request.kind.value, "accept" if accept else "reject", reason)
        if accept and request.kind is RequestKind.CLOSURE:
            request.acceptable_reply(reply)
            return self.closure.accept(request_id, agent, note, reason=reason)
        return self._decide(request_id, accept, agent, note, new_email, reply, reason)

    @retried
    def _decide(
        self, request_id: UUID, accept: bool, agent: str, note: str, new_email: str | None,
        reply: str | None, reason: str | None,
    ) -> SupportRequest:
        request = self.store.support_request(request_id)
        at = self.clock()
        if not accept:
            request.reject(agent, note, at, reply=reply, reason=reason)
            self.store.save(request)
            return request
        request.accept(agent, note, new_email, at, reply=reply, reason=reason)
        if request.kind is RequestKind.EMAIL_UPDATE:
            account = self.store.account(request.account_id)
            account.change_email(request.new_email, "support", f"support:{agent}", at)
            account.request_credentials(uuid.uuid4().hex, "email_update", f"support:{agent}", at)
            self.store.save(request, account)
            return request
        self.store.save(request)
        return request

    def get_support_request(self, request_id: UUID) -> SupportRequest:
        return self.store.support_request(request_id)

    def account_for_support(self, identifier: str) -> Account:
        return self.store.known_account(identifier)

    @retried
    def resend_credentials(self, identifier: str, agent: str) -> None:
        account = self.store.known_account(identifier)
        account.request_credentials(
            uuid.uuid4().hex, "support_resend", f"support:{agent}", self.clock()
        )
        self.store.save(account)

    @retried
    def unlock(self, identifier: str, agent: str) -> Account:
        account = self.store.known_account(identifier)
        account.unlock(agent, self.clock())
        self.store.save(account)
        return account

