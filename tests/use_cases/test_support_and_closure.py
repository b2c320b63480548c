"""Support decisions, e-mail changes, closure with erasure, claims and audit, in memory."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from eventsourcing.persistence import IntegrityError

from domain.errors import (
    AlreadyDecidedError,
    ConcurrencyError,
    EmailVerificationInvalidError,
    IdempotencyKeyReusedError,
)
from domain.lifecycle import MAX_ATTEMPTS, retried
from domain.support_request import RequestKind
from domain.use_cases.views import (
    RecoveryRequest,
    RegistrationRequest,
    ReimbursementFeedItem,
    SupportRequestForm,
)
from tests.helpers import OWN


def test_support_approving_a_review_opens_the_account(world, helene):
    review = world.cases.registration.register(
        RegistrationRequest(**{**vars(helene), "first_name": "Hélèna"})
    )
    decided = world.cases.support.decide_registration(review.registration_id, True, "alice", "ok")
    assert decided.status == "approved"
    account_id = world.store.enrollment(review.registration_id).account_id
    assert world.store.account(account_id).credentials_requests[-1].reason == "identity_approved"
    with pytest.raises(AlreadyDecidedError):
        world.cases.support.decide_registration(review.registration_id, False, "bob", "non")


def test_an_email_change_takes_effect_with_the_code_sent_to_the_new_address(world):
    account, password = world.registered()
    world.cases.recovery.request_email_change(account.id, "nouvelle@example.org", password)
    request_id = world.store.account(account.id).email_change.request_id
    issued = world.cases.mail.issue_email_verification(account.id, request_id)
    assert issued.email == "nouvelle@example.org"
    assert world.cases.recovery.verify_email(issued.code) == "nouvelle@example.org"
    with pytest.raises(EmailVerificationInvalidError):
        world.cases.recovery.verify_email(issued.code)  # single use


def recover_with_answer(world, helene, answer: str, new_email: str):
    """Hélène, registered with a secret question, asks for her credentials at a new address."""
    account, _ = world.registered(RegistrationRequest(
        **{**vars(helene), "secret_question": "Ville natale ?", "secret_answer": "Lyon"}
    ))
    world.cases.recovery.recover(RecoveryRequest(
        member_number="M1000001", last_name="Dupré-Lefèvre", first_name="Hélène",
        birth_date=date(1978, 4, 12), new_email=new_email, secret_answer=answer,
    ))
    return world.store.account(account.id)


def test_recovery_with_the_secret_answer_moves_the_credentials_to_a_new_address(world, helene):
    recovered = recover_with_answer(world, helene, "lyon", "ailleurs@example.org")
    assert recovered.email == "ailleurs@example.org"
    assert recovered.credentials_requests[-1].reason == "recovery"


def test_a_wrong_secret_answer_changes_nothing_but_is_counted(world, helene):
    after = recover_with_answer(world, helene, "Paris", "pirate@example.org")
    assert after.email == "helene@example.org" and len(after.secret_answer_failures) == 1


def test_an_accepted_closure_ends_every_session_and_erases_the_member(world):
    account, password = world.registered()
    world.cases.sign_in.sign_in(account.identifier, password)
    request_id = world.cases.closure.request_closure(account.id, password)
    world.cases.support.decide_request(request_id, True, "alice", "demande du membre", None)
    closed = world.store.account(account.id)
    assert not closed.is_open and closed.personal_data_erased
    assert world.sessions.open_sessions == {}
    assert world.subjects.destroyed == [account.member_key]
    assert world.cases.closure.erase_personal_data(account.id) is False  # done once


def test_support_accepting_an_email_update_sends_new_credentials_there(world):
    account, _ = world.registered()
    request_id = world.cases.support.submit_support_request(SupportRequestForm(
        kind=RequestKind.EMAIL_UPDATE.value, last_name="Dupré-Lefèvre", first_name="Hélène",
        message="J'ai perdu l'accès à mon adresse.", identifier=account.identifier,
        new_email="neuve@example.org",
    ))
    world.cases.support.decide_request(request_id, True, "alice", "vérifié", None)
    updated = world.store.account(account.id)
    assert updated.email == "neuve@example.org"
    assert updated.credentials_requests[-1].reason == "email_update"


def test_a_reimbursement_is_recorded_once_and_a_changed_replay_is_refused(world):
    item = ReimbursementFeedItem(
        reimbursement_id="R1", member_number="M1000003", contract_id="SANTE-IND-001",
        label="Consultation", care_date=date(2026, 10, 1),
        paid_at=datetime(2026, 10, 5, 8, tzinfo=UTC), amount="25.00",
    )
    assert world.cases.claims.record_reimbursement(item, "claims:flux") is True
    assert world.cases.claims.record_reimbursement(item, "claims:flux") is False
    with pytest.raises(IdempotencyKeyReusedError):
        world.cases.claims.record_reimbursement(
            ReimbursementFeedItem(**{**vars(item), "amount": "26.00"}), "claims:flux"
        )


def test_the_state_at_an_instant_is_the_account_as_it_was_then(world):
    account, password = world.registered()
    before = world.clock() + timedelta(seconds=1)
    world.clock.advance(minutes=5)
    world.cases.sign_in.sign_in(account.identifier, password)
    world.cases.sign_in.change_password(account.id, password, OWN)
    then = world.cases.audit.state_at(account.identifier, before)
    assert then.state["must_change_password"] and then.state["last_sign_in_at"] is None
    now = world.cases.audit.state_at(account.identifier, world.clock())
    assert now.state["last_sign_in_at"] == world.clock() and not now.state["must_change_password"]
    history = [type(e).__name__ for _, e in world.cases.audit.history(account.identifier)]
    assert history[:2] == ["RegistrationRequested", "IdentityMatched"]
    assert "PasswordChanged" in history


def test_a_lost_race_is_run_again_from_the_first_load_and_gives_up_after_the_limit():
    calls = []

    @retried
    def always_loses() -> None:
        calls.append(1)
        raise IntegrityError("another writer saved first")

    with pytest.raises(ConcurrencyError):
        always_loses()
    assert len(calls) == MAX_ATTEMPTS

    outcomes = iter([IntegrityError("lost"), None])

    @retried
    def loses_once() -> str:
        if (error := next(outcomes)) is not None:
            raise error
        return "saved"

    assert loses_once() == "saved"
