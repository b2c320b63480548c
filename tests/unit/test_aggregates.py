"""Enrollment and Account: the events each command emits, and the guards that refuse."""

from __future__ import annotations

from datetime import timedelta
from uuid import uuid4

import pytest

from domain.errors import (
    AccountClosedError,
    AccountLockedError,
    AlreadyDecidedError,
    CredentialsChangedError,
    CredentialsEmailCapError,
    EmailVerificationInvalidError,
    InvalidTransitionError,
    SecretAnswerPathClosedError,
)
from domain.states import AccountStatus, EnrollmentStatus
from tests.helpers import MEMBER_KEY, T0, account, enrollment, event_names


def test_a_refused_registration_records_its_reason():
    e = enrollment()
    e.refuse("unknown_member", T0)
    assert event_names(e) == ["RegistrationRequested", "RegistrationRefused"]
    assert (e.status, e.reason, e.decided_at) == (EnrollmentStatus.REFUSED, "unknown_member", T0)


def test_a_mismatch_keeps_both_spellings_and_waits_for_support():
    e = enrollment()
    e.flag_identity_mismatch({"last_name": "Dupond", "first_name": "Marie"}, T0)
    events = e.collect_events()
    assert events[-1].declared == {"last_name": "Dupont", "first_name": "Marie"}
    assert events[-1].directory == {"last_name": "Dupond", "first_name": "Marie"}
    assert e.status is EnrollmentStatus.IDENTITY_REVIEW and e.decided_at is None


def test_a_review_is_decided_once_and_records_the_agent_and_note():
    e = enrollment()
    e.flag_identity_mismatch({"last_name": "Dupond", "first_name": "Marie"}, T0)
    e.approve("alice", "pièce d'identité vérifiée", uuid4(), T0)
    assert e.collect_events()[-1].actor == "support:alice"
    with pytest.raises(AlreadyDecidedError):
        e.reject("bob", "trop tard", T0)


def test_a_decided_registration_cannot_be_decided_again_by_another_path():
    e = enrollment()
    e.refuse("not_eligible", T0)
    with pytest.raises(InvalidTransitionError):
        e.match_identity(uuid4(), T0)
    with pytest.raises(InvalidTransitionError):
        e.approve("alice", "", uuid4(), T0)


def test_an_account_opens_with_its_identifier_and_no_password_yet():
    a = account()
    assert event_names(a) == ["AccountOpened"]
    assert a.status is AccountStatus.ACTIVE and a.temp_password_hash is None


def test_credentials_go_request_then_issue_then_sent():
    a = account()
    a.request_credentials("r1", "registration", "system:registration", T0)
    assert a.is_credentials_request_pending("r1")
    a.issue_temporary_password("r1", "$2b$hash", T0 + timedelta(hours=24), T0)
    a.record_credentials_email_sent("r1", T0)
    assert event_names(a)[1:] == [
        "CredentialsRequested", "TempPasswordIssued", "CredentialsEmailSent"
    ]
    assert not a.is_credentials_request_pending("r1")
    assert a.temp_password_hash == "$2b$hash"


def test_a_newer_credentials_request_supersedes_an_older_unsent_one():
    a = account()
    a.request_credentials("r1", "registration", "system:registration", T0)
    a.request_credentials("r2", "registration_retry", "system:registration", T0)
    assert not a.is_credentials_request_pending("r1")
    assert a.is_credentials_request_pending("r2")


def test_a_fourth_credentials_email_within_24_hours_is_refused_with_a_wait():
    a = account()
    for i in range(3):
        a.request_credentials(f"r{i}", "recovery", "system:recovery", T0 + timedelta(hours=i))
    with pytest.raises(CredentialsEmailCapError) as refused:
        a.request_credentials("r4", "recovery", "system:recovery", T0 + timedelta(hours=3))
    assert refused.value.retry_after_seconds == pytest.approx(21 * 3600, abs=2)
    a.request_credentials("r5", "recovery", "system:recovery", T0 + timedelta(hours=24))


def test_support_resends_are_not_capped():
    a = account()
    for i in range(3):
        a.request_credentials(f"r{i}", "registration_retry", "system:registration", T0)
    a.request_credentials("r9", "support_resend", "support:alice", T0)
    assert a.is_credentials_request_pending("r9")


def test_only_a_closed_account_is_erased_and_only_once():
    a = account()
    with pytest.raises(InvalidTransitionError):
        a.erase_personal_data(T0)
    a.close("alice", T0)
    a.collect_events()
    a.erase_personal_data(T0)
    a.erase_personal_data(T0)
    [erased] = a.collect_events()
    assert type(erased).__name__ == "PersonalDataErased"
    assert (erased.member_key, erased.actor) == (MEMBER_KEY, "system:erasure")
    assert a.personal_data_erased


def test_a_closed_account_refuses_new_credentials_and_changes():
    a = account()
    a.close("alice", T0)
    with pytest.raises(AccountClosedError):
        a.request_credentials("r1", "registration", "system:registration", T0)
    with pytest.raises(AccountClosedError):
        a.change_email("new@example.org", "member", "member:12345678", T0)
    with pytest.raises(InvalidTransitionError):
        a.close("alice", T0)


def test_changing_to_the_same_email_records_nothing():
    a = account()
    a.collect_events()
    a.change_email("marie@example.org", "registration_retry", "system:registration", T0)
    assert a.collect_events() == []


def test_replaying_the_events_rebuilds_the_same_state():
    a = account()
    a.request_credentials("r1", "registration", "system:registration", T0)
    a.issue_temporary_password("r1", "$2b$hash", T0 + timedelta(hours=24), T0)
    events = a.collect_events()
    copy = None
    for event in events:
        copy = event.mutate(copy)
    assert copy.__dict__ == a.__dict__


def test_five_failures_in_a_row_lock_for_fifteen_minutes_and_a_success_resets():
    a = account()
    a.change_password("$2b$own", T0)
    for _ in range(4):
        a.fail_sign_in(T0)
    a.sign_in("$2b$own", T0)
    assert a.failed_sign_ins == 0
    for _ in range(5):
        a.fail_sign_in(T0)
    assert event_names(a)[-2:] == ["SignInFailed", "AccountLocked"]
    assert a.is_locked(T0 + timedelta(minutes=14, seconds=59))
    assert not a.is_locked(T0 + timedelta(minutes=15))


def test_signing_in_with_the_temporary_password_retires_the_own_password():
    a = account()
    a.change_password("$2b$own", T0)
    a.request_credentials("r1", "recovery", "system:recovery", T0)
    a.issue_temporary_password("r1", "$2b$temp", T0 + timedelta(hours=24), T0)
    assert a.password_hash == "$2b$own"  # a recovery alone keeps it
    a.sign_in("$2b$temp", T0)
    assert a.password_hash is None and a.has_signed_in


def test_a_temporary_password_is_usable_for_24_hours_only():
    a = account()
    a.request_credentials("r1", "registration", "system:registration", T0)
    a.issue_temporary_password("r1", "$2b$temp", T0 + timedelta(hours=24), T0)
    assert a.usable_temporary_hash(T0 + timedelta(hours=23, minutes=59)) == "$2b$temp"
    assert a.usable_temporary_hash(T0 + timedelta(hours=24)) is None


def test_only_the_newest_verification_code_of_a_pending_change_works_once():
    a = account()
    a.request_email_change("c1", "new@example.org", T0)
    a.issue_email_verification("c1", "digest-1", T0)
    a.issue_email_verification("c1", "digest-2", T0)
    with pytest.raises(EmailVerificationInvalidError):
        a.verify_email("digest-1", T0)
    a.verify_email("digest-2", T0)
    assert a.email == "new@example.org"
    with pytest.raises(EmailVerificationInvalidError):
        a.verify_email("digest-2", T0)


def test_a_verification_code_expires_after_24_hours():
    a = account()
    a.request_email_change("c1", "new@example.org", T0)
    a.issue_email_verification("c1", "digest-1", T0)
    with pytest.raises(EmailVerificationInvalidError):
        a.verify_email("digest-1", T0 + timedelta(hours=24))


def test_three_wrong_secret_answers_in_24_hours_close_that_path_only():
    a = account()
    for hour in range(3):
        a.request_recovery("wrong_secret_answer", T0 + timedelta(hours=hour))
    assert a.is_secret_answer_path_closed(T0 + timedelta(hours=3))
    assert not a.is_secret_answer_path_closed(T0 + timedelta(hours=24, seconds=1))
    a.request_credentials("r1", "recovery", "system:recovery", T0 + timedelta(hours=3))


def test_setting_alerts_to_their_current_value_records_nothing():
    a = account()
    a.collect_events()
    a.set_alerts(False, T0)
    assert a.collect_events() == []
    a.set_alerts(True, T0)
    assert event_names(a) == ["AlertsPreferenceChanged"]


# The guards hold on the state being saved (CONTRACT.md v1.1, "Concurrency of the guards").


def locked_account():
    a = account()
    a.change_password("$2b$own", T0)
    for _ in range(5):
        a.fail_sign_in(T0)
    a.collect_events()
    return a


def test_a_locked_account_refuses_the_right_password_and_records_nothing():
    a = locked_account()
    with pytest.raises(AccountLockedError):
        a.sign_in("$2b$own", T0 + timedelta(minutes=14))
    assert a.collect_events() == [] and not a.has_signed_in


def test_a_locked_account_counts_no_more_wrong_passwords():
    a = locked_account()
    version = a.version
    with pytest.raises(AccountLockedError):
        a.fail_sign_in(T0 + timedelta(minutes=1))
    assert a.collect_events() == [] and a.version == version


def test_a_password_replaced_or_expired_meanwhile_does_not_sign_in():
    a = account()
    a.change_password("$2b$own", T0)
    a.request_credentials("r1", "recovery", "system:recovery", T0)
    a.issue_temporary_password("r1", "$2b$temp", T0 + timedelta(hours=24), T0)
    with pytest.raises(CredentialsChangedError):
        a.sign_in("$2b$temp", T0 + timedelta(hours=24))  # expired at the save
    a.change_password("$2b$newer", T0)
    with pytest.raises(CredentialsChangedError):
        a.sign_in("$2b$own", T0)  # replaced between the check and the save


def test_a_fourth_wrong_secret_answer_is_not_counted_and_the_path_refuses_a_right_one():
    a = account()
    for _ in range(4):
        a.fail_secret_answer(T0)
    outcomes = [e.outcome for e in a.collect_events() if type(e).__name__ == "RecoveryRequested"]
    assert outcomes == ["wrong_secret_answer"] * 3 + ["secret_answer_path_closed"]
    with pytest.raises(SecretAnswerPathClosedError):
        a.recover_to_new_address("r1", "pirate@example.org", T0 + timedelta(hours=23))
    assert a.collect_events() == [] and a.email != "pirate@example.org"
    a.recover_to_new_address("r2", "nouvelle@example.org", T0 + timedelta(hours=24))
    assert a.email == "nouvelle@example.org"
