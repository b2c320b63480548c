"""The e-mails events call for (domain/mail.py), and the outcome each one ends with: a notice
or a rejection e-mail sent or without a recipient, a reimbursement alert sent or skipped."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from uuid import uuid4

import pytest

from adapters.mail import NOTICE_EVENTS
from domain.errors import InvalidTransitionError
from domain.mail import MAIL_EVENTS, MailKind, MailOutcome, mail_due
from domain.reimbursement import Reimbursement
from tests.helpers import MEMBER_KEY, T0, account, enrollment, event_names

LATER = T0 + timedelta(minutes=1)
# What an outcome event may hold: where it is, when, who, and how it ended; nobody's data.
OUTCOME_FIELDS = {
    "originator_id", "originator_version", "timestamp", "actor", "about_version", "outcome",
    "reason",
}


def reimbursement() -> Reimbursement:
    return Reimbursement(
        reimbursement_id="R1", member_number="M1", principal_member_number="M1",
        member_key=MEMBER_KEY, contract_id="SANTE-IND-001", label="Consultation",
        care_date=date(2026, 11, 1), paid_at=datetime(2026, 11, 5, tzinfo=UTC), amount="25.00",
        actor="claims:flux", timestamp=T0,
    )


def no_personal_data(event) -> bool:
    return set(vars(event)) <= OUTCOME_FIELDS


# Which events call for which e-mail.


def test_lock_password_and_closure_events_call_for_a_notice_about_themselves():
    a = account()
    a.change_password("$2b$new", T0)
    for _ in range(5):
        a.fail_sign_in(T0)
    a.close("alice", T0)
    due = {type(e).__name__: mail_due(e) for e in a.collect_events()}
    assert due == {
        "AccountOpened": None, "PasswordChanged": MailKind.NOTICE, "SignInFailed": None,
        "AccountLocked": MailKind.NOTICE, "AccountClosed": MailKind.NOTICE,
    }


def test_an_email_change_is_notified_unless_it_corrects_a_restarted_registration():
    a = account()
    a.change_email("new@example.org", "member", a.actor, T0)
    a.change_email("typo@example.org", "registration_retry", "system:registration", T0)
    assert [mail_due(e) for e in a.collect_events()[1:]] == [MailKind.NOTICE, None]


def test_a_rejection_and_a_reimbursement_call_for_their_own_e_mails():
    e = enrollment()
    e.flag_identity_mismatch({"last_name": "Dupond", "first_name": "Marie"}, T0)
    e.reject("alice", "non", T0)
    assert [mail_due(ev) for ev in e.collect_events()] == [None, None, MailKind.REJECTION]
    [recorded] = reimbursement().collect_events()
    assert mail_due(recorded) is MailKind.REIMBURSEMENT_ALERT


def test_every_event_that_calls_for_a_notice_has_its_french_template():
    notified = {name.split(".")[1] for name, kind in MAIL_EVENTS.items() if kind == "notice"}
    # Told only for one outcome (passkey_required), so mail_due decides it, not the table.
    assert notified | {"RecoveryRequested"} == NOTICE_EVENTS


# Notices.


def test_a_notice_is_recorded_once_per_event_it_is_about():
    a = account()
    a.change_password("$2b$new", T0)
    a.collect_events()
    a.record_notice(2, MailOutcome.SENT, LATER)
    a.record_notice(2, MailOutcome.SENT, LATER)  # a second worker running the same message
    [sent] = a.collect_events()
    assert (type(sent).__name__, sent.about_version, sent.outcome) == ("NoticeSent", 2, "sent")
    assert sent.actor == "system:mailer" and no_personal_data(sent)
    assert a.notified_versions == [2]


def test_a_closed_and_erased_account_still_takes_its_closure_notices_outcome():
    a = account()
    a.close("alice", T0)
    a.erase_personal_data(T0)
    a.record_notice(2, MailOutcome.NO_RECIPIENT, LATER)
    assert event_names(a)[-1] == "NoticeSent"
    assert a.collect_events() == [] and a.notified_versions == [2]


def test_a_notice_outcome_names_a_known_outcome_and_an_event_of_the_account():
    a = account()
    a.collect_events()
    with pytest.raises(ValueError, match="bounced"):
        a.record_notice(1, "bounced", T0)
    with pytest.raises(ValueError, match="no event 2"):
        a.record_notice(2, MailOutcome.SENT, T0)
    assert a.collect_events() == [] and a.notified_versions == []


# Rejection e-mails.


def test_a_rejection_email_is_recorded_once():
    e = enrollment()
    e.flag_identity_mismatch({"last_name": "Dupond", "first_name": "Marie"}, T0)
    e.reject("alice", "non", T0)
    e.collect_events()
    e.record_rejection_email(MailOutcome.NO_RECIPIENT, LATER)
    e.record_rejection_email(MailOutcome.SENT, LATER)
    [sent] = e.collect_events()
    assert (type(sent).__name__, sent.outcome) == ("RejectionEmailSent", "no_recipient")
    assert no_personal_data(sent) and e.rejection_email == "no_recipient"


def test_only_a_rejected_registration_records_a_rejection_email():
    e = enrollment()
    e.match_identity(uuid4(), T0)
    e.collect_events()
    with pytest.raises(InvalidTransitionError):
        e.record_rejection_email(MailOutcome.SENT, T0)
    assert e.collect_events() == [] and e.rejection_email is None


# Reimbursement alerts.


def test_a_reimbursement_with_nobody_to_alert_ends_with_the_alert_skipped_and_why():
    r = reimbursement()
    r.collect_events()
    r.skip_alert("not_subscribed", LATER)
    r.skip_alert("no_account", LATER)
    r.record_alert_sent(uuid4(), LATER)  # settled: a late worker sends nothing more
    [skipped] = r.collect_events()
    assert (type(skipped).__name__, skipped.reason) == ("ReimbursementAlertSkipped",
                                                        "not_subscribed")
    assert skipped.actor == "system:alerts" and no_personal_data(skipped)
    assert r.alert_settled and not r.alert_sent


def test_a_sent_alert_is_not_skipped_afterwards():
    r = reimbursement()
    r.record_alert_sent(uuid4(), LATER)
    r.skip_alert("account_closed", LATER)
    assert event_names(r) == ["ReimbursementRecorded", "ReimbursementAlertSent"]
    assert r.alert_settled and r.alert_skipped is None


def test_an_alert_is_skipped_only_for_a_known_reason():
    r = reimbursement()
    r.collect_events()
    with pytest.raises(ValueError, match="lazy"):
        r.skip_alert("lazy", T0)
    assert r.collect_events() == [] and not r.alert_settled
