"""AccountLifecycle: the one writer. Each use case is load -> command -> save."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, ClassVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application, Repository
from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import IntegrityError, JSONTranscoder, Transcoding

from domain.account import Account, CredentialsRequest, EmailChange
from domain.credentials import (
    GuessabilityCheck,
    PasswordHasher,
    generate_identifier,
    generate_temporary_password,
    generate_verification_code,
    names_match,
    normalise_code,
    normalise_secret_answer,
    password_problems,
    token_digest,
)
from domain.directory import HealthRole, MemberDirectory
from domain.enrollment import Enrollment
from domain.errors import (
    AccountClosedError,
    AccountExistsError,
    AccountNotFoundError,
    AlreadyDecidedError,
    ConcurrencyError,
    CredentialsEmailCapError,
    EmailVerificationInvalidError,
    FieldError,
    IdempotencyKeyReusedError,
    InvalidCredentialsError,
    InvalidTransitionError,
    RegistrationNotFoundError,
    SupportRequestNotFoundError,
    WeakPasswordError,
    WrongPasswordError,
)
from domain.indexes import EmailVerificationIndex, IdempotencyRecord, IdentifierIndex, MemberIndex
from domain.mail import MailOutcome
from domain.personal_data import ERASED, member_key
from domain.reimbursement import Reimbursement
from domain.states import EnrollmentStatus
from domain.support_request import RequestKind, RequestStatus, SupportRequest

TEMPORARY_PASSWORD_LIFETIME = timedelta(hours=24)
# Every sign-in adds an event: a snapshot each 10 keeps a load to a few events (bench/run.py
# measured a third less CPU per sign-in than with 50), for one extra write per 10 events.
SNAPSHOT_EVERY = 10
IDENTIFIERS_REMEMBERED = 100_000
# Optimistic concurrency: a lost race is retried from a fresh load this many times.
MAX_ATTEMPTS = 8

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class RegistrationRequest:
    member_number: str
    last_name: str
    first_name: str
    birth_date: date
    email: str
    secret_question: str | None = None
    secret_answer: str | None = None


@dataclass(frozen=True)
class RegistrationView:
    registration_id: UUID
    status: str
    reason: str | None
    created_at: datetime
    decided_at: datetime | None


@dataclass(frozen=True)
class RecoveryRequest:
    member_number: str
    last_name: str
    first_name: str
    birth_date: date
    new_email: str | None = None
    secret_answer: str | None = None


@dataclass(frozen=True)
class Authenticated:
    account_id: UUID
    identifier: str
    temporary: bool


@dataclass(frozen=True)
class MemberView:
    identifier: str
    member_number: str
    email: str
    first_name: str
    last_name: str
    sections: list[str]
    beneficiaries: list[dict[str, str]]
    alerts_reimbursements: bool
    secret_question: str | None


@dataclass(frozen=True)
class SupportRequestForm:
    kind: str
    last_name: str
    first_name: str
    message: str
    member_number: str | None = None
    birth_date: date | None = None
    identifier: str | None = None
    email: str | None = None
    new_email: str | None = None


@dataclass(frozen=True)
class ReimbursementFeedItem:
    reimbursement_id: str
    member_number: str
    contract_id: str
    label: str
    care_date: date
    paid_at: datetime
    amount: str


@dataclass(frozen=True)
class ReimbursementAlert:
    email: str
    beneficiary_first_name: str
    amount: str
    care_date: date


@dataclass(frozen=True)
class Notice:
    """What the member is told (the type of the event it is about), and where."""

    event_type: str
    email: str


@dataclass(frozen=True)
class IssuedVerification:
    """For the mail worker only: the code exists in its memory and in the e-mail."""

    email: str
    code: str


@dataclass(frozen=True)
class IssuedCredentials:
    """Handed to the mail worker only; the password never leaves its memory but in the e-mail."""

    identifier: str
    email: str
    temporary_password: str
    reason: str


class DateAsISO(Transcoding):
    type = date
    name = "date_iso"

    def encode(self, obj: date) -> str:
        return obj.isoformat()

    def decode(self, data: str) -> date:
        return date.fromisoformat(data)


class CredentialsRequestAsDict(Transcoding):
    type = CredentialsRequest
    name = "credentials_request"

    def encode(self, obj: CredentialsRequest) -> dict[str, Any]:
        return dict(vars(obj))

    def decode(self, data: dict[str, Any]) -> CredentialsRequest:
        return CredentialsRequest(**data)


class EmailChangeAsDict(Transcoding):
    type = EmailChange
    name = "email_change"

    def encode(self, obj: EmailChange) -> dict[str, Any]:
        return dict(vars(obj))

    def decode(self, data: dict[str, Any]) -> EmailChange:
        return EmailChange(**data)


class AccountLifecycle(Application[UUID]):
    name = "AccountLifecycle"
    # An account that lives for years (sign-ins, alerts, recoveries) loads from its latest
    # snapshot and the events after it, not from its first event.
    snapshotting_intervals: ClassVar[dict[type[Any], int]] = {Account: SNAPSHOT_EVERY}

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        transcoder.register(DateAsISO())
        # The state inside a snapshot of an Account.
        transcoder.register(CredentialsRequestAsDict())
        transcoder.register(EmailChangeAsDict())

    def __init__(
        self,
        env: dict[str, str] | None = None,
        *,
        directory: MemberDirectory,
        hasher: PasswordHasher,
        strength: GuessabilityCheck,
        clock: Clock = utc_now,
        on_committed: Callable[[Sequence[DomainEventProtocol[UUID]]], None] | None = None,
        destroy_keys: Callable[[UUID], None] | None = None,
    ):
        super().__init__(env)
        self._unsnapshotted = Repository(event_store=self.events)
        self._identified: dict[str, UUID] = {}
        self.directory = directory
        self.hasher = hasher
        self.strength = strength
        self.clock = clock
        self.on_committed = on_committed
        # Without a key ring (the pure domain tests) nothing is sealed, so nothing to destroy.
        self.destroy_keys = destroy_keys or (lambda member_key: None)

    def notify(self, new_events: list[DomainEventProtocol[UUID]]) -> None:
        # Called by save() once the events are committed: the outbox hand-off point.
        if self.on_committed is not None:
            self.on_committed(new_events)

    # Registration ("Activer mon compte").

    def register(
        self,
        request: RegistrationRequest,
        idempotency: tuple[str, str] | None = None,
    ) -> RegistrationView:
        """Decide a registration. `idempotency` is (key, digest of the request body)."""
        answer_hash = None
        if request.secret_answer is not None:
            answer_hash = self.hasher.hash(normalise_secret_answer(request.secret_answer))
        return self._retrying(lambda: self._register_once(request, answer_hash, idempotency))

    def _register_once(
        self,
        request: RegistrationRequest,
        answer_hash: str | None,
        idempotency: tuple[str, str] | None,
    ) -> RegistrationView:
        at = self.clock()
        record = None
        if idempotency is not None:
            record = self._index_or_none(
                IdempotencyRecord.create_id("registrations", idempotency[0])
            )
            if record is not None and record.is_live(at):
                if record.body_digest != idempotency[1]:
                    raise IdempotencyKeyReusedError(idempotency[0])
                return self._registration_view(self.repository.get(record.result_id), first=True)

        enrollment, others = self._decide_registration(request, answer_hash, at)
        if idempotency is not None:
            key, digest = idempotency
            if record is None:
                record = IdempotencyRecord(
                    scope="registrations", key=key, body_digest=digest,
                    result_id=enrollment.id, timestamp=at,
                )
            else:
                record.renew(body_digest=digest, result_id=enrollment.id, timestamp=at)
            others.append(record)
        self.save(enrollment, *others)
        return self._registration_view(enrollment, first=True)

    def _decide_registration(
        self, request: RegistrationRequest, answer_hash: str | None, at: datetime
    ) -> tuple[Enrollment, list[Any]]:
        """Returns the enrollment to answer with and the other aggregates to save with it."""
        entry = self.directory.find(request.member_number)
        enrollment = Enrollment(
            member_number=request.member_number,
            member_key=member_key(request.member_number),
            last_name=request.last_name,
            first_name=request.first_name,
            birth_date=request.birth_date,
            email=request.email,
            secret_question=request.secret_question,
            secret_answer_hash=answer_hash,
            actor="system:registration",
            timestamp=at,
        )
        if entry is None or entry.birth_date != request.birth_date:
            enrollment.refuse("unknown_member", at)
            return enrollment, []
        reason = entry.refusal_reason()
        if reason is not None:
            enrollment.refuse(reason, at)
            return enrollment, []

        index = self._index_or_none(MemberIndex.create_id(request.member_number))
        if index is None:
            index = MemberIndex(member_number=request.member_number, timestamp=at)
        declared_match = names_match(
            request.last_name, request.first_name, entry.last_name, entry.first_name
        )
        if index.account_id is not None:
            account: Account = self.repository.get(index.account_id)
            if account.is_open:
                if account.has_signed_in or not declared_match:
                    enrollment.refuse("already_registered", at)
                    return enrollment, []
                # An interrupted registration (the FAQ's "recommencer la procédure"): same
                # identifier, the new e-mail kept, fresh credentials.
                account.request_credentials(
                    uuid.uuid4().hex, "registration_retry", "system:registration", at
                )
                account.change_email(request.email, "registration_retry", "system:registration", at)
                if answer_hash is not None and request.secret_question is not None:
                    account.set_secret_question(
                        request.secret_question, answer_hash, "system:registration", at
                    )
                enrollment.match_identity(account.id, at)
                return enrollment, [account]
        if index.review_id is not None:
            # The repeat of a registration under review answers with that registration.
            return self.repository.get(index.review_id), []
        if not declared_match:
            enrollment.flag_identity_mismatch(
                {"last_name": entry.last_name, "first_name": entry.first_name}, at
            )
            index.open_review(registration_id=enrollment.id, timestamp=at)
            return enrollment, [index]
        account, identifier_index = self._open_account(enrollment, entry.sections(), at)
        index.link_account(account_id=account.id, timestamp=at)
        enrollment.match_identity(account.id, at)
        return enrollment, [index, account, identifier_index]

    def _open_account(
        self,
        enrollment: Enrollment,
        sections: list[str],
        at: datetime,
        reason: str = "registration",
    ) -> tuple[Account, IdentifierIndex]:
        # A collision with an existing identifier fails the save with IntegrityError, and the
        # retry draws another: 1 chance in 90 million per existing account, so rare.
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
            actor="system:registration",
            timestamp=at,
        )
        account.request_credentials(uuid.uuid4().hex, reason, "system:registration", at)
        return account, IdentifierIndex(identifier=identifier, account_id=account.id, timestamp=at)

    def get_registration(self, registration_id: UUID) -> RegistrationView:
        return self._registration_view(self._enrollment(registration_id), first=False)

    @staticmethod
    def _registration_view(enrollment: Enrollment, *, first: bool) -> RegistrationView:
        status = enrollment.first_answer if first else enrollment.status
        return RegistrationView(
            registration_id=enrollment.id,
            status=str(status),
            reason=enrollment.reason if status is EnrollmentStatus.REFUSED else None,
            created_at=enrollment.created_on,
            decided_at=None if first else enrollment.decided_at,
        )

    # Credentials, run by the mail worker.

    def issue_temporary_password(
        self, account_id: UUID, request_id: str
    ) -> IssuedCredentials | None:
        """A fresh temporary password for a pending request, or None when nothing is to be sent."""

        def once() -> IssuedCredentials | None:
            account: Account = self.repository.get(account_id)
            if not account.is_credentials_request_pending(request_id):
                return None
            at = self.clock()
            password = generate_temporary_password()
            account.issue_temporary_password(
                request_id,
                password_hash=self.hasher.hash(password),
                expires_at=at + TEMPORARY_PASSWORD_LIFETIME,
                at=at,
            )
            self.save(account)
            reason = account.credentials_request(request_id).reason
            return IssuedCredentials(account.identifier, account.email, password, reason)

        return self._retrying(once)

    def record_credentials_email(
        self, account_id: UUID, request_id: str, error: str | None = None
    ) -> None:
        def once() -> None:
            account: Account = self.repository.get(account_id)
            if error is None:
                account.record_credentials_email_sent(request_id, self.clock())
            else:
                account.record_credentials_email_failed(request_id, error, self.clock())
            self.save(account)

        self._retrying(once)

    def is_credentials_request_unattempted(self, account_id: UUID, request_id: str) -> bool:
        account = self._get_or_none(account_id)
        return isinstance(account, Account) and account.is_credentials_request_unattempted(
            request_id
        )

    def is_email_verification_unattempted(self, account_id: UUID, request_id: str) -> bool:
        account = self._get_or_none(account_id)
        return isinstance(account, Account) and account.is_email_verification_unattempted(
            request_id
        )

    def pending_credentials_requests(self, account_id: UUID) -> list[str]:
        account: Account = self.repository.get(account_id)
        return [
            r.request_id
            for r in account.credentials_requests
            if account.is_credentials_request_pending(r.request_id)
        ]

    # Sign-in and the credentials a member changes.

    def authenticate(self, identifier: str, password: str) -> Authenticated:
        """Check a sign-in; every failure is the same InvalidCredentialsError, at the same cost."""
        account = self._account_by_identifier(identifier)
        at = self.clock()
        if account is None or not account.is_open or account.is_locked(at):
            self.hasher.verify(password, None)  # the same bcrypt work as a real check
            raise InvalidCredentialsError(identifier)
        temporary = self._matching_password(account, password, at)
        if temporary is None:
            self._update(account.id, lambda a: a.fail_sign_in(self.clock()), loaded=account)
            raise InvalidCredentialsError(identifier)
        self._update(account.id, lambda a: a.sign_in(temporary, self.clock()), loaded=account)
        return Authenticated(account.id, account.identifier, temporary)

    def _matching_password(self, account: Account, password: str, at: datetime) -> bool | None:
        """False: the member's own password; True: the temporary one; None: neither."""
        if account.password_hash is not None and self.hasher.verify(
            password, account.password_hash
        ):
            return False
        temporary_hash = account.usable_temporary_hash(at)
        if temporary_hash is not None and self.hasher.verify(password, temporary_hash):
            return True
        if account.password_hash is None and temporary_hash is None:
            self.hasher.verify(password, None)
        return None

    def confirm_password(self, account_id: UUID, password: str, field: str) -> Account:
        """A password that confirms a change; a wrong one counts toward the lockout."""
        account = self._account(account_id)
        if account.is_locked(self.clock()):
            # A session opened before the lock cannot go on guessing while it lasts.
            self.hasher.verify(password, None)
            raise WrongPasswordError(field)
        if self._matching_password(account, password, self.clock()) is None:
            self._update(account_id, lambda a: a.fail_sign_in(self.clock(), context=field))
            raise WrongPasswordError(field)
        return account

    def change_password(
        self,
        account_id: UUID,
        current: str,
        new: str,
        before_recording: Callable[[], None] | None = None,
    ) -> None:
        """`before_recording` runs once the change is certain, before it is recorded: the
        caller ends the other sessions there, so a failure leaves none that should be gone."""
        account = self.confirm_password(account_id, current, "current_password")
        entry = self.directory.find(account.member_number)
        personal = [account.identifier, account.email.rpartition("@")[0]]
        if entry is not None:
            personal += [entry.last_name, entry.first_name]
        problems = password_problems(
            new, current=current, personal_data=personal, check=self.strength
        )
        if problems:
            raise WeakPasswordError(problems)
        password_hash = self.hasher.hash(new)
        # The check above took time (bcrypt, zxcvbn): had another change replaced the password
        # meanwhile, the one confirmed here is no longer current, as in any serial order.
        confirmed = (account.password_hash, account.temp_password_hash)

        def still_current(a: Account) -> Account:
            if (a.password_hash, a.temp_password_hash) != confirmed:
                raise WrongPasswordError("current_password")
            return a

        still_current(self._account(account_id))
        if before_recording is not None:
            before_recording()
        self._update(
            account_id, lambda a: still_current(a).change_password(password_hash, self.clock())
        )

    def set_secret_question(
        self, account_id: UUID, question: str, answer: str, password: str
    ) -> None:
        self.confirm_password(account_id, password, "password")
        answer_hash = self.hasher.hash(normalise_secret_answer(answer))
        self._update(
            account_id,
            lambda a: a.set_secret_question(question, answer_hash, a.actor, self.clock()),
        )

    def set_alerts(self, account_id: UUID, reimbursements: bool) -> bool:
        account = self._update(account_id, lambda a: a.set_alerts(reimbursements, self.clock()))
        return account.alerts_reimbursements

    def request_email_change(self, account_id: UUID, new_email: str, password: str) -> None:
        self.confirm_password(account_id, password, "password")
        request_id = uuid.uuid4().hex
        self._update(
            account_id, lambda a: a.request_email_change(request_id, new_email, self.clock())
        )

    def issue_email_verification(
        self, account_id: UUID, request_id: str
    ) -> IssuedVerification | None:
        """A fresh code for a pending e-mail change (the worker sends it), or None."""

        def once() -> IssuedVerification | None:
            account = self._account(account_id)
            if not account.is_email_change_pending(request_id):
                return None
            code = generate_verification_code()
            digest = token_digest(code)
            account.issue_email_verification(request_id, digest, self.clock())
            index = EmailVerificationIndex(
                token_hash=digest, account_id=account_id, timestamp=self.clock()
            )
            self.save(account, index)
            return IssuedVerification(account.email_change.new_email, code)

        return self._retrying(once)

    def verify_email(self, code: str) -> str:
        """Make the change a code was sent for; returns the new address."""
        digest = token_digest(normalise_code(code))
        index = self._index_or_none(EmailVerificationIndex.create_id(digest))
        if index is None:
            raise EmailVerificationInvalidError("unknown code")
        try:
            account = self._update(index.account_id, lambda a: a.verify_email(digest, self.clock()))
        except AccountClosedError:
            raise EmailVerificationInvalidError("closed account") from None
        return account.email

    def recover(self, request: RecoveryRequest) -> None:
        """Forgotten credentials. Whatever happens, the caller answers the same."""
        account = self._recoverable_account(request)
        with_answer = request.secret_answer is not None
        if account is None:
            if with_answer:
                self.hasher.verify(normalise_secret_answer(request.secret_answer), None)
            return
        at = self.clock()
        if with_answer:
            right = not account.is_secret_answer_path_closed(at) and self.hasher.verify(
                normalise_secret_answer(request.secret_answer), account.secret_answer_hash
            )
            if not right:
                outcome = (
                    "secret_answer_path_closed"
                    if account.is_secret_answer_path_closed(at)
                    else "wrong_secret_answer"
                )
                self._update(account.id, lambda a: a.request_recovery(outcome, self.clock()))
                return

        def change(a: Account) -> None:
            now = self.clock()
            try:
                a.request_credentials(uuid.uuid4().hex, "recovery", "system:recovery", now)
            except CredentialsEmailCapError:
                a.request_recovery("capped", now)
                return
            if with_answer:
                a.change_email(request.new_email, "recovery", "system:recovery", now)
                a.request_recovery("email_changed", now)
            else:
                a.request_recovery("credentials_sent", now)

        self._update(account.id, change)

    def _recoverable_account(self, request: RecoveryRequest) -> Account | None:
        entry = self.directory.find(request.member_number)
        if entry is None or entry.birth_date != request.birth_date:
            return None
        declared = (request.last_name, request.first_name)
        if not names_match(*declared, entry.last_name, entry.first_name):
            return None
        index = self._index_or_none(MemberIndex.create_id(request.member_number))
        if index is None or index.account_id is None:
            return None
        account = self._account(index.account_id)
        return account if account.is_open else None

    def me(self, account_id: UUID) -> MemberView:
        account = self._account(account_id)
        entry = self.directory.find(account.member_number)
        # Only a health contract's principal member has beneficiaries: no query for the others.
        beneficiaries = (
            self.directory.beneficiaries(account.member_number)
            if entry is not None and entry.is_health_principal else []
        )
        return MemberView(
            identifier=account.identifier,
            member_number=account.member_number,
            email=account.email,
            first_name=entry.first_name if entry else "",
            last_name=entry.last_name if entry else "",
            sections=entry.sections() if entry else [],
            beneficiaries=beneficiaries,
            alerts_reimbursements=account.alerts_reimbursements,
            secret_question=account.secret_question,
        )

    def notice_to_send(
        self, account_id: UUID, version: int, to: str | None = None
    ) -> Notice | None:
        """The notice of the account's event at `version`, to `to` when the message carries
        the address (read before an erasure), or None: its outcome is recorded, or nobody is
        left to tell (recorded now)."""
        if version in self._account(account_id).notified_versions:
            return None
        [event] = self.events.get(account_id, gt=version - 1, lte=version)
        kind = type(event).__name__
        if to is None:
            # The old address is told of a change; otherwise the address of the time.
            to = event.old if kind == "EmailChanged" else (
                self.repository.get(account_id, version=version).email
            )
        if to == ERASED:
            self.record_notice(account_id, version, MailOutcome.NO_RECIPIENT)
            return None
        return Notice(kind, to)

    def record_notice(self, account_id: UUID, version: int, outcome: str) -> None:
        self._update(account_id, lambda a: a.record_notice(version, outcome, self.clock()))

    # The support desk.

    def submit_support_request(self, form: SupportRequestForm) -> UUID:
        """A request from someone who cannot sign in; linked to an account when one matches."""
        account = None
        if form.identifier:
            account = self._account_by_identifier(form.identifier)
        if account is None and form.member_number:
            index = self._index_or_none(MemberIndex.create_id(form.member_number))
            if index is not None and index.account_id is not None:
                account = self._account(index.account_id)
        request = SupportRequest(
            kind=form.kind, last_name=form.last_name, first_name=form.first_name,
            message=form.message, member_number=form.member_number, birth_date=form.birth_date,
            identifier=form.identifier, email=form.email, new_email=form.new_email,
            account_id=account.id if account is not None and account.is_open else None,
            member_key=(
                account.member_key if account is not None
                else member_key(form.member_number) if form.member_number else None
            ),
            actor="system:support-request", timestamp=self.clock(),
        )
        self.save(request)
        return request.id

    def request_closure(self, account_id: UUID, password: str) -> UUID:
        """The member's own closure request ("clôture sur demande"); support decides it."""
        account = self.confirm_password(account_id, password, "password")
        entry = self.directory.find(account.member_number)

        def once() -> UUID:
            current = self._account(account_id)
            request = SupportRequest(
                kind=RequestKind.CLOSURE.value,
                last_name=entry.last_name if entry else "",
                first_name=entry.first_name if entry else "",
                message="Demande de clôture faite depuis l'Espace Client.",
                member_number=current.member_number, birth_date=None,
                identifier=current.identifier, email=current.email, new_email=None,
                account_id=current.id, member_key=current.member_key, actor=current.actor,
                timestamp=self.clock(),
            )
            current.request_closure(request.id, self.clock())
            self.save(current, request)
            return request.id

        return self._retrying(once)

    def decide_registration(
        self, registration_id: UUID, approve: bool, agent: str, note: str
    ) -> RegistrationView:
        def once() -> RegistrationView:
            enrollment = self._enrollment(registration_id)
            at = self.clock()
            if enrollment.status is not EnrollmentStatus.IDENTITY_REVIEW:
                raise AlreadyDecidedError(enrollment.status)
            index = self.repository.get(enrollment.member_key)
            if index.review_id != enrollment.id:
                # Another agent's decision committed between our two reads.
                raise AlreadyDecidedError(registration_id)
            if not approve:
                enrollment.reject(agent, note, at)
                index.close_review(registration_id=enrollment.id, timestamp=at)
                self.save(enrollment, index)
                return self._registration_view(enrollment, first=False)
            if index.account_id is not None and self._account(index.account_id).is_open:
                raise AccountExistsError(enrollment.member_number)
            entry = self.directory.find(enrollment.member_number)
            account, identifier_index = self._open_account(
                enrollment, entry.sections() if entry else [], at, reason="identity_approved"
            )
            enrollment.approve(agent, note, account.id, at)
            index.close_review(registration_id=enrollment.id, timestamp=at)
            index.link_account(account_id=account.id, timestamp=at)
            self.save(enrollment, index, account, identifier_index)
            return self._registration_view(enrollment, first=False)

        return self._retrying(once)

    def decide_request(
        self, request_id: UUID, accept: bool, agent: str, note: str, new_email: str | None
    ) -> SupportRequest:
        def once() -> SupportRequest:
            request = self._get_or_none(request_id)
            if not isinstance(request, SupportRequest):
                raise SupportRequestNotFoundError(request_id)
            at = self.clock()
            if not accept:
                request.reject(agent, note, at)
                self.save(request)
                return request
            request.accept(agent, note, new_email, at)
            if request.kind is RequestKind.OTHER:
                self.save(request)
                return request
            account = self._account(request.account_id)
            if request.kind is RequestKind.EMAIL_UPDATE:
                account.change_email(request.new_email, "support", f"support:{agent}", at)
                account.request_credentials(
                    uuid.uuid4().hex, "email_update", f"support:{agent}", at
                )
                self.save(request, account)
                return request
            account.close(agent, at)
            index = self.repository.get(account.member_key)
            index.unlink_account(account_id=account.id, timestamp=at)
            self.save(request, account, index)
            return request

        decided = self._retrying(once)
        if decided.kind is RequestKind.CLOSURE and decided.status is RequestStatus.ACCEPTED:
            # Should this fail, the periodic check finishes it: closed, never left unerased.
            self.erase_personal_data(decided.account_id)
        return decided

    def erase_personal_data(self, account_id: UUID) -> bool:
        """Crypto-shredding of a closed account's member: destroy their keys, then record it.
        Idempotent; False when it was already done."""
        account = self._account(account_id)
        if account.personal_data_erased:
            return False
        if account.is_open:
            raise InvalidTransitionError("an open account keeps its personal data")
        self.destroy_keys(account.member_key)

        def once() -> None:
            current = self._account(account_id)
            current.erase_personal_data(self.clock())
            self.save(current)

        self._retrying(once)
        return True

    def rejection_to_send(self, registration_id: UUID) -> str | None:
        """The address to tell of a rejected registration, or None: its outcome is recorded,
        or nobody is left to tell (recorded now)."""
        enrollment = self._enrollment(registration_id)
        if enrollment.rejection_email is not None:
            return None
        if enrollment.email == ERASED:
            self.record_rejection_email(registration_id, MailOutcome.NO_RECIPIENT)
            return None
        return enrollment.email

    def record_rejection_email(self, registration_id: UUID, outcome: str) -> None:
        self._update(
            registration_id, lambda e: e.record_rejection_email(outcome, self.clock()),
            load=self._enrollment,
        )

    def get_support_request(self, request_id: UUID) -> SupportRequest:
        request = self._get_or_none(request_id)
        if not isinstance(request, SupportRequest):
            raise SupportRequestNotFoundError(request_id)
        return request

    def account_for_support(self, identifier: str) -> Account:
        account = self._account_by_identifier(identifier)
        if account is None:
            raise AccountNotFoundError(identifier)
        return account

    def resend_credentials(self, identifier: str, agent: str) -> None:
        account = self.account_for_support(identifier)
        self._update(
            account.id,
            lambda a: a.request_credentials(
                uuid.uuid4().hex, "support_resend", f"support:{agent}", self.clock()
            ),
        )

    def unlock(self, identifier: str, agent: str) -> Account:
        account = self.account_for_support(identifier)
        return self._update(account.id, lambda a: a.unlock(agent, self.clock()))

    def flag_credentials_overdue(self, account_id: UUID, request_id: str) -> None:
        self._update(account_id, lambda a: a.flag_credentials_overdue(request_id, self.clock()))

    # The claims feed and reimbursement alerts.

    def record_reimbursement(self, item: ReimbursementFeedItem, actor: str) -> bool:
        """Record a reimbursement once; True when new, False for a replay of the same one."""
        entry = self.directory.find(item.member_number)
        if entry is None:
            raise FieldError("member_number", "Adhérent inconnu.")
        coverage = next((c for c in entry.coverages if c.contract_id == item.contract_id), None)
        if coverage is None:
            raise FieldError("contract_id", "Ce contrat ne couvre pas cet adhérent.")
        principal = (
            item.member_number
            if coverage.role is HealthRole.PRINCIPAL
            else coverage.principal_member_number
        )
        facts = {
            "member_number": item.member_number, "contract_id": item.contract_id,
            "label": item.label, "care_date": item.care_date, "paid_at": item.paid_at,
            "amount": item.amount,
        }
        for _ in range(2):
            existing = self._get_or_none(Reimbursement.create_id(item.reimbursement_id))
            if existing is not None:
                # Once its member is erased, its facts cannot be compared: a replay is assumed.
                if existing.member_number != ERASED and not existing.same_as(**facts):
                    raise IdempotencyKeyReusedError(item.reimbursement_id)
                return False
            reimbursement = Reimbursement(
                reimbursement_id=item.reimbursement_id, principal_member_number=principal,
                member_key=member_key(principal), actor=actor, timestamp=self.clock(), **facts,
            )
            try:
                self.save(reimbursement)
                return True
            except IntegrityError:
                continue  # the same item arriving twice at once: the other one recorded it
        raise ConcurrencyError(item.reimbursement_id)

    def reimbursement_alert(self, reimbursement_id: UUID) -> tuple[UUID, ReimbursementAlert] | None:
        """The alert to send for a reimbursement, or None: it was sent or skipped already, or
        its principal member has no open account or no subscription (skipped now, saying so)."""
        reimbursement: Reimbursement = self.repository.get(reimbursement_id)
        if reimbursement.alert_settled:
            return None
        index = self._index_or_none(reimbursement.member_key)
        account = None
        if index is not None and index.account_id is not None:
            account = self._account(index.account_id)
        skipped = None
        if account is None:
            skipped = "no_account"
        elif not account.is_open:
            skipped = "account_closed"
        elif not account.alerts_reimbursements:
            skipped = "not_subscribed"
        if skipped is not None:
            self._update(
                reimbursement_id, lambda r: r.skip_alert(skipped, self.clock()),
                load=self.repository.get,
            )
            return None
        beneficiary = self.directory.find(reimbursement.member_number)
        alert = ReimbursementAlert(
            email=account.email,
            beneficiary_first_name=beneficiary.first_name if beneficiary else "",
            amount=reimbursement.amount,
            care_date=reimbursement.care_date,
        )
        return account.id, alert

    def record_alert_sent(self, reimbursement_id: UUID, account_id: UUID) -> None:
        self._update(
            reimbursement_id, lambda r: r.record_alert_sent(account_id, self.clock()),
            load=self.repository.get,
        )

    def _account_by_identifier(self, identifier: str) -> Account | None:
        if not identifier.isdigit() or len(identifier) != 8:
            return None
        account_id = self._identified.get(identifier)
        if account_id is None:
            index = self._index_or_none(IdentifierIndex.create_id(identifier))
            if index is None:
                return None
            account_id = index.account_id
            # An identifier is never reused nor moved: what it names can be remembered.
            if len(self._identified) >= IDENTIFIERS_REMEMBERED:
                self._identified.clear()
            self._identified[identifier] = account_id
        return self._account(account_id)

    def _enrollment(self, registration_id: UUID) -> Enrollment:
        enrollment = self._get_or_none(registration_id)
        if not isinstance(enrollment, Enrollment):
            raise RegistrationNotFoundError(registration_id)
        return enrollment

    def _account(self, account_id: UUID) -> Account:
        account = self._get_or_none(account_id)
        if not isinstance(account, Account):
            raise AccountNotFoundError(account_id)
        return account

    def _update(
        self,
        aggregate_id: UUID,
        command: Callable[[Any], None],
        loaded: Any = None,
        load: Callable[[UUID], Any] | None = None,
    ) -> Any:
        """Load (an account, unless `load` says otherwise), command, save; a lost race reloads
        and runs the command again. `loaded`, the aggregate the caller has just loaded, spares
        the first load (a stale one loses the race on its version, and the retry reloads)."""
        first = [loaded] if loaded is not None else []
        load = load or self._account

        def once() -> Any:
            aggregate = first.pop() if first else load(aggregate_id)
            command(aggregate)
            self.save(aggregate)
            return aggregate

        return self._retrying(once)

    # Plumbing.

    def _get_or_none(self, aggregate_id: UUID) -> Any:
        try:
            return self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            return None

    def _index_or_none(self, aggregate_id: UUID) -> Any:
        """An index or idempotency record: never snapshotted, so read without asking the
        snapshot store first (a round trip less on every registration and sign-in)."""
        try:
            return self._unsnapshotted.get(aggregate_id)
        except AggregateNotFoundError:
            return None

    @staticmethod
    def _retrying(command: Callable[[], Any]) -> Any:
        for _ in range(MAX_ATTEMPTS):
            try:
                return command()
            except IntegrityError:
                continue
        raise ConcurrencyError("too many concurrent changes")
