"""Properties of the Account and Enrollment state machines (hypothesis, no I/O): whatever
sequence of commands arrives, each is either refused with a domain error (changing nothing) or
recorded as events, and then:
- the aggregate rebuilt from its events alone equals the live one (nothing escapes the events);
- the status only moves along the transition table (active -> closed; requested -> accepted,
  identity_review or refused; identity_review -> approved or rejected), never back;
- a closed account takes no command that changes its credentials, e-mail or lock;
- erasure happens only after closure; a lock lasts 15 minutes from the fifth failure in a row;
- each event's notice outcome is recorded once at most, after closure too.
"""

from __future__ import annotations

import copy
from datetime import UTC, date, datetime, timedelta
from uuid import uuid4

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from domain.account import Account
from domain.enrollment import Enrollment
from domain.errors import DomainError
from domain.mail import MailOutcome
from domain.states import AccountStatus, EnrollmentStatus
from tests.helpers import MEMBER_KEY

T0 = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
# What may still be recorded after closure: the erasure, and the outcome of a send in flight.
CLOSED_OK = {
    "AccountClosed", "PersonalDataErased", "CredentialsEmailSent", "CredentialsEmailFailed",
    "NoticeSent",
}


def rebuilt(events: list) -> object:
    aggregate = None
    for event in events:
        aggregate = event.mutate(aggregate)
    return aggregate


def state(aggregate: object) -> dict:
    return {k: v for k, v in vars(aggregate).items() if k != "_pending_events"}


class AccountMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.now = T0
        self.account = Account(
            identifier="12345678", member_number="M1", member_key=MEMBER_KEY,
            email="marie@example.org", sections=["health"], registration_id=uuid4(),
            secret_question=None, secret_answer_hash=None, actor="system:registration",
            timestamp=self.now,
        )
        self.events = list(self.account.collect_events())
        self.closed_at_event: int | None = None

    def do(self, command) -> None:
        before = copy.deepcopy(state(self.account))
        try:
            command(self.account)
        except (DomainError, KeyError):
            # A refused command records nothing and changes nothing.
            assert self.account._pending_events == []
            assert state(self.account) == before
            return
        new = self.account.collect_events()
        self.events += new
        if any(type(e).__name__ == "AccountClosed" for e in new):
            self.closed_at_event = len(self.events)

    @rule(minutes=st.integers(0, 60 * 30))
    def time_passes(self, minutes: int) -> None:
        self.now += timedelta(minutes=minutes)

    @rule(reason=st.sampled_from(["registration", "registration_retry", "recovery",
                                  "support_resend", "email_update"]))
    def request_credentials(self, reason: str) -> None:
        self.do(lambda a: a.request_credentials(uuid4().hex, reason, "system:test", self.now))

    @rule()
    def issue_for_latest(self) -> None:
        def command(a: Account) -> None:
            if not a.credentials_requests:
                raise KeyError("none")
            request = a.credentials_requests[-1].request_id
            a.issue_temporary_password(request, "$2b$hash", self.now + timedelta(hours=24),
                                       self.now)
        self.do(command)

    @rule(ok=st.booleans())
    def record_send(self, ok: bool) -> None:
        def command(a: Account) -> None:
            if not a.credentials_requests:
                raise KeyError("none")
            request = a.credentials_requests[-1].request_id
            if ok:
                a.record_credentials_email_sent(request, self.now)
            else:
                a.record_credentials_email_failed(request, "SMTPException", self.now)
        self.do(command)

    @rule(temporary=st.booleans())
    def sign_in(self, temporary: bool) -> None:
        def command(a: Account) -> None:
            checked = a.temp_password_hash if temporary else a.password_hash
            a.sign_in(checked or "$2b$unknown", self.now)
        self.do(command)

    @rule()
    def fail_sign_in(self) -> None:
        self.do(lambda a: a.fail_sign_in(self.now))

    @rule()
    def unlock(self) -> None:
        self.do(lambda a: a.unlock("alice", self.now))

    @rule()
    def change_password(self) -> None:
        self.do(lambda a: a.change_password("$2b$new", self.now))

    @rule(address=st.sampled_from(["a@example.org", "b@example.org"]))
    def request_email_change(self, address: str) -> None:
        self.do(lambda a: a.request_email_change(uuid4().hex, address, self.now))

    @rule()
    def issue_code(self) -> None:
        def command(a: Account) -> None:
            request = a.email_change.request_id if a.email_change else "none"
            a.issue_email_verification(request, "digest", self.now)
        self.do(command)

    @rule(right=st.booleans())
    def verify(self, right: bool) -> None:
        self.do(lambda a: a.verify_email("digest" if right else "other", self.now))

    @rule(on=st.booleans())
    def set_alerts(self, on: bool) -> None:
        self.do(lambda a: a.set_alerts(on, self.now))

    @rule()
    def request_recovery(self) -> None:
        self.do(lambda a: a.request_recovery("new_credentials", self.now))

    @rule()
    def close(self) -> None:
        self.do(lambda a: a.close("alice", self.now))

    @rule()
    def erase(self) -> None:
        self.do(lambda a: a.erase_personal_data(self.now))

    @rule(back=st.integers(0, 3), outcome=st.sampled_from(MailOutcome))
    def record_notice(self, back: int, outcome: MailOutcome) -> None:
        self.do(lambda a: a.record_notice(max(1, a.version - back), outcome, self.now))

    @invariant()
    def the_events_alone_rebuild_the_account(self) -> None:
        assert state(rebuilt(self.events)) == state(self.account)

    @invariant()
    def closure_is_final_and_freezes_the_account(self) -> None:
        assert self.account.status in (AccountStatus.ACTIVE, AccountStatus.CLOSED)
        if self.closed_at_event is not None:
            assert self.account.status == AccountStatus.CLOSED
            after = {type(e).__name__ for e in self.events[self.closed_at_event:]}
            assert after <= CLOSED_OK, after
        if self.account.personal_data_erased:
            assert not self.account.is_open

    @invariant()
    def each_event_has_one_notice_outcome_at_most(self) -> None:
        about = [e.about_version for e in self.events if type(e).__name__ == "NoticeSent"]
        assert len(about) == len(set(about)), about

    @invariant()
    def a_lock_lasts_fifteen_minutes_from_the_fifth_failure(self) -> None:
        if self.account.locked_until is not None and self.account.is_locked(self.now):
            assert self.account.locked_until - self.now <= timedelta(minutes=15)


class EnrollmentMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.enrollment = Enrollment(
            member_number="M1", member_key=MEMBER_KEY, last_name="Dupont",
            first_name="Marie", birth_date=date(1980, 1, 2), email="marie@example.org",
            secret_question=None, secret_answer_hash=None, actor="system:registration",
            timestamp=T0,
        )
        self.events = list(self.enrollment.collect_events())
        self.statuses = [self.enrollment.status]

    def do(self, command) -> None:
        try:
            command(self.enrollment)
        except DomainError:
            assert not self.enrollment._pending_events
            return
        self.events += self.enrollment.collect_events()
        if self.enrollment.status != self.statuses[-1]:  # a rejection e-mail's outcome keeps it
            self.statuses.append(self.enrollment.status)

    @rule()
    def refuse(self) -> None:
        self.do(lambda e: e.refuse("unknown_member", T0))

    @rule()
    def match(self) -> None:
        self.do(lambda e: e.match_identity(uuid4(), T0))

    @rule()
    def flag(self) -> None:
        self.do(lambda e: e.flag_identity_mismatch({"last_name": "X", "first_name": "Y"}, T0))

    @rule(approve=st.booleans())
    def decide(self, approve: bool) -> None:
        if approve:
            self.do(lambda e: e.approve("alice", "vu", uuid4(), T0))
        else:
            self.do(lambda e: e.reject("alice", "non", T0))

    @rule(outcome=st.sampled_from(MailOutcome))
    def record_rejection_email(self, outcome: MailOutcome) -> None:
        self.do(lambda e: e.record_rejection_email(outcome, T0))

    @invariant()
    def the_events_alone_rebuild_the_enrollment(self) -> None:
        assert state(rebuilt(self.events)) == state(self.enrollment)

    @invariant()
    def the_status_only_moves_forward_along_the_table(self) -> None:
        allowed = {
            (EnrollmentStatus.REQUESTED, EnrollmentStatus.ACCEPTED),
            (EnrollmentStatus.REQUESTED, EnrollmentStatus.IDENTITY_REVIEW),
            (EnrollmentStatus.REQUESTED, EnrollmentStatus.REFUSED),
            (EnrollmentStatus.IDENTITY_REVIEW, EnrollmentStatus.APPROVED),
            (EnrollmentStatus.IDENTITY_REVIEW, EnrollmentStatus.REJECTED),
        }
        for before, after in zip(self.statuses, self.statuses[1:], strict=False):
            assert (before, after) in allowed, self.statuses


TestAccountMachine = AccountMachine.TestCase
TestAccountMachine.settings = settings(max_examples=150, stateful_step_count=40, deadline=None)
TestEnrollmentMachine = EnrollmentMachine.TestCase
TestEnrollmentMachine.settings = settings(max_examples=100, deadline=None)
