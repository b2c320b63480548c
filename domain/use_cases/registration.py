"""Registration ("Activer mon compte"): eligibility against the member directory, the names
compared, and an account opened, a review opened for support, or a refusal."""

from __future__ import annotations

import uuid
from datetime import datetime
from uuid import UUID

from domain.account import Account
from domain.credentials import generate_identifier, names_match, normalise_secret_answer
from domain.directory import DirectoryEntry
from domain.enrollment import Enrollment
from domain.errors import IdempotencyKeyReusedError
from domain.indexes import IdempotencyRecord, IdentifierIndex
from domain.lifecycle import AccountLifecycle, retried
from domain.ports import Ports
from domain.states import EnrollmentStatus
from domain.use_cases.views import RegistrationRequest, RegistrationView

SYSTEM = "system:registration"


class Registration:
    def __init__(self, store: AccountLifecycle, ports: Ports):
        self.store = store
        self.directory = ports.directory
        self.hasher = ports.hasher
        self.subjects = ports.subjects
        self.clock = ports.clock

    def register(
        self, request: RegistrationRequest, idempotency: tuple[str, str] | None = None
    ) -> RegistrationView:
        """Decide a registration. `idempotency` is (key, digest of the request body): the same
        key and body answer as the first time and record nothing."""
        answer_hash = None
        if request.secret_answer is not None:  # bcrypt once, outside the retried part
            answer_hash = self.hasher.hash(normalise_secret_answer(request.secret_answer))
        return self._register(request, answer_hash, idempotency)

    @retried
    def _register(
        self,
        request: RegistrationRequest,
        answer_hash: str | None,
        idempotency: tuple[str, str] | None,
    ) -> RegistrationView:
        at = self.clock()
        record = None
        if idempotency is not None:
            key, digest = idempotency
            record = self.store.index_or_none(IdempotencyRecord.create_id("registrations", key))
            if record is not None and record.is_live(at):
                if record.body_digest != digest:
                    raise IdempotencyKeyReusedError(key)
                return registration_view(self.store.repository.get(record.result_id), first=True)

        enrollment, others = self.decide(request, answer_hash, at)
        if idempotency is not None:
            if record is None:
                record = IdempotencyRecord(
                    scope="registrations", key=key, body_digest=digest,
                    result_id=enrollment.id, actor=SYSTEM, timestamp=at,
                )
            else:
                record.renew(
                    body_digest=digest, result_id=enrollment.id, actor=SYSTEM, timestamp=at
                )
            others.append(record)
        self.store.save(enrollment, *others)
        return registration_view(enrollment, first=True)

    def decide(
        self, request: RegistrationRequest, answer_hash: str | None, at: datetime
    ) -> tuple[Enrollment, list[object]]:
        """The enrollment to answer with and the other aggregates to save with it (nothing is
        saved here: bench/bulk.py writes a million accounts through this same decision)."""
        entry = self.directory.find(request.member_number)
        eligible = (
            entry is not None and entry.birth_date == request.birth_date
            and entry.refusal_reason() is None
        )
        subject = self.subjects.find(request.member_number)
        # A refusal indexes nobody: its request is the member's data subject when they have
        # one already (erased with them), else its own.
        index = (
            self.store.member_index(subject, request.member_number, SYSTEM, at)
            if eligible else None
        )
        enrollment = Enrollment(
            member_number=request.member_number,
            member_key=index.id if index is not None else subject or uuid.uuid4(),
            last_name=request.last_name,
            first_name=request.first_name,
            birth_date=request.birth_date,
            email=request.email,
            secret_question=request.secret_question,
            secret_answer_hash=answer_hash,
            actor=SYSTEM,
            timestamp=at,
        )
        if entry is None or entry.birth_date != request.birth_date:
            enrollment.refuse("unknown_member", at)
            return enrollment, []
        reason = entry.refusal_reason()
        if reason is not None or index is None:
            enrollment.refuse(reason or "unknown_member", at)
            return enrollment, []
        declared_match = _declared_match(request, entry)
        if index.account_id is not None:
            account: Account = self.store.repository.get(index.account_id)
            if account.is_open:
                return self._again(enrollment, account, request, answer_hash, declared_match, at)
        if index.review_id is not None:
            # The repeat of a registration under review answers with that registration.
            return self.store.repository.get(index.review_id), []
        if not declared_match:
            enrollment.flag_identity_mismatch(
                {"last_name": entry.last_name, "first_name": entry.first_name}, at
            )
            index.open_review(registration_id=enrollment.id, actor=SYSTEM, timestamp=at)
            return enrollment, [index]
        account, identifier_index = open_account(enrollment, entry.sections(), at)
        index.link_account(account_id=account.id, actor=SYSTEM, timestamp=at)
        enrollment.match_identity(account.id, at)
        return enrollment, [index, account, identifier_index]

    @staticmethod
    def _again(
        enrollment: Enrollment,
        account: Account,
        request: RegistrationRequest,
        answer_hash: str | None,
        declared_match: bool,
        at: datetime,
    ) -> tuple[Enrollment, list[object]]:
        """A member whose account is open registers again."""
        if account.has_signed_in or not declared_match:
            enrollment.refuse("already_registered", at)
            return enrollment, []
        # An interrupted registration (the FAQ's "recommencer la procédure"): same identifier,
        # the new e-mail kept, fresh credentials.
        account.request_credentials(uuid.uuid4().hex, "registration_retry", SYSTEM, at)
        account.change_email(request.email, "registration_retry", SYSTEM, at)
        if answer_hash is not None and request.secret_question is not None:
            account.set_secret_question(request.secret_question, answer_hash, SYSTEM, at)
        enrollment.match_identity(account.id, at)
        return enrollment, [account]

    def get_registration(self, registration_id: UUID) -> RegistrationView:
        return registration_view(self.store.enrollment(registration_id), first=False)


def _declared_match(request: RegistrationRequest, entry: DirectoryEntry) -> bool:
    return names_match(request.last_name, request.first_name, entry.last_name, entry.first_name)


def open_account(
    enrollment: Enrollment, sections: list[str], at: datetime, reason: str = "registration"
) -> tuple[Account, IdentifierIndex]:
    """A new account for an enrollment, with its credentials requested; saved by the caller.
    A collision with an existing identifier fails that save with IntegrityError, and the retry
    draws another: 1 chance in 90 million per existing account, so rare."""
    identifier = generate_identifier()
    account = Account(
        identifier=identifier,
        member_number=enrollment.member_number,
        member_key=enrollment.member_key,
        email=enrollment.email,
        sections=sections,
        registration_id=enrollment.id,
        secret_question=enrollment.secret_question,
        secret_answer_hash=enrollment.secret_answer_hash,
        actor=SYSTEM,
        timestamp=at,
    )
    account.request_credentials(uuid.uuid4().hex, reason, SYSTEM, at)
    reserved = IdentifierIndex(
        identifier=identifier, account_id=account.id, actor=SYSTEM, timestamp=at
    )
    return account, reserved


def registration_view(enrollment: Enrollment, *, first: bool) -> RegistrationView:
    """`first`: the answer given when it was decided; otherwise where it stands now."""
    status = enrollment.first_answer if first else enrollment.status
    return RegistrationView(
        registration_id=enrollment.id,
        status=str(status),
        reason=enrollment.reason if status is EnrollmentStatus.REFUSED else None,
        created_at=enrollment.created_on,
        decided_at=None if first else enrollment.decided_at,
    )
