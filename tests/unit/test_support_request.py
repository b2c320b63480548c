"""SupportRequest: decided once, and only when there is something to act on; which of its
events e-mail the requester, and how each e-mail's outcome is kept."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID, uuid4

import pytest

from domain.errors import AlreadyDecidedError, FieldError, InvalidTransitionError
from domain.support_request import (
    REPLY_MAX_LENGTH,
    RequestStatus,
    SupportMail,
    SupportRequest,
    support_mail_due,
    support_reference,
)
from tests.helpers import MEMBER_KEY

T0 = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)


def request(kind: str, account=True, new_email=None) -> SupportRequest:
    return SupportRequest(
        kind=kind, last_name="Martin", first_name="Louise", message="Bonjour",
        member_number="M1", birth_date=None, identifier=None, email=None, new_email=new_email,
        account_id=uuid4() if account else None, member_key=MEMBER_KEY,
        actor="system:support-request", timestamp=T0,
    )


def test_an_accepted_request_records_the_agent_and_note():
    r = request("other", account=False)
    r.accept("alice", "réglé par téléphone", None, T0)
    event = r.collect_events()[-1]
    assert type(event).__name__ == "SupportRequestAccepted"
    assert (event.agent, event.note) == ("alice", "réglé par téléphone")
    assert event.actor == "support:alice"
    assert r.status is RequestStatus.ACCEPTED


def test_a_request_is_decided_once():
    r = request("closure")
    r.reject("alice", "", T0)
    with pytest.raises(AlreadyDecidedError):
        r.accept("bob", "", None, T0)


def test_an_email_update_needs_a_new_address_from_the_request_or_the_agent():
    with pytest.raises(InvalidTransitionError):
        request("email_update").accept("alice", "", None, T0)
    r = request("email_update")
    r.accept("alice", "", "nouvelle@example.org", T0)
    assert r.new_email == "nouvelle@example.org"


def test_a_closure_without_a_matching_account_can_only_be_rejected():
    with pytest.raises(InvalidTransitionError):
        request("closure", account=False).accept("alice", "", None, T0)
    request("closure", account=False).reject("alice", "inconnu", T0)


# The requester's e-mails: which decision tells them, the reply, the outcome bookkeeping.

REPLY = "Votre attestation vous est envoyée par courrier."


def submitted(kind: str, account=True, email="louise@example.org", new_email=None,
              acknowledge=True) -> SupportRequest:
    return SupportRequest(
        kind=kind, last_name="Martin", first_name="Louise", message="Bonjour",
        member_number="M1", birth_date=None, identifier=None, email=email, new_email=new_email,
        account_id=uuid4() if account else None, member_key=MEMBER_KEY,
        actor="system:support-request", timestamp=T0, acknowledge=acknowledge,
    )


def decision_event(r: SupportRequest):
    return r.collect_events()[-1]


def test_a_submitted_request_calls_for_an_acknowledgement_only_when_asked():
    assert support_mail_due(submitted("other").collect_events()[0]) is SupportMail.ACKNOWLEDGEMENT
    # The member's own closure request, confirmed by the page (closure.py does not ask).
    own = request("closure")
    assert own.acknowledge is False
    assert support_mail_due(own.collect_events()[0]) is None


@pytest.mark.parametrize(("kind", "accept", "reply", "told"), [
    ("other", True, None, True),
    ("other", False, None, True),
    ("other", True, REPLY, True),
    ("email_update", False, None, True),
    ("closure", False, REPLY, True),
    # Credentials to the new address and a notice to the old one tell of an accepted update.
    ("email_update", True, None, False),
    ("email_update", True, REPLY, True),  # ... but not of a reply
])
def test_a_decision_is_e_mailed_where_nothing_else_tells_the_requester(
    kind, accept, reply, told
):
    r = submitted(kind, new_email="neuve@example.org")
    if accept:
        r.accept("alice", "vu", None, T0, reply=reply)
    else:
        r.reject("alice", "vu", T0, reply=reply)
    event = decision_event(r)
    assert (event.reply, event.email_requester) == (reply, told)
    assert support_mail_due(event) is (SupportMail.DECISION if told else None)
    assert r.reply == reply


def test_an_accepted_closure_is_told_by_its_notice_and_takes_no_reply():
    r = submitted("closure")
    with pytest.raises(FieldError) as refused:
        r.accept("alice", "vu", None, T0, reply=REPLY)
    assert refused.value.field == "reply"
    assert r.status is RequestStatus.OPEN and len(r.collect_events()) == 1
    r.accept("alice", "vu", None, T0)
    assert support_mail_due(decision_event(r)) is None


def test_a_requester_without_any_address_is_e_mailed_nothing():
    r = submitted("other", account=False, email=None)
    assert not r.reachable
    r.reject("alice", "vu", T0, reply=REPLY)
    assert decision_event(r).email_requester is False


def test_a_blank_reply_is_none_and_a_reply_past_the_bound_is_refused():
    r = submitted("other")
    with pytest.raises(FieldError):
        r.reject("alice", "vu", T0, reply="x" * (REPLY_MAX_LENGTH + 1))
    assert r.status is RequestStatus.OPEN
    r.reject("alice", "vu", T0, reply="   ")
    assert decision_event(r).reply is None


def test_an_e_mail_update_is_answered_at_the_new_address_it_asks_for():
    r = submitted("email_update", email="ancienne@example.org", new_email="neuve@example.org")
    assert r.reply_to == "neuve@example.org"
    r.accept("alice", "vu", "autre@example.org", T0)
    assert (r.new_email, r.reply_to) == ("autre@example.org", "neuve@example.org")
    assert submitted("other", email="ici@example.org", new_email="x@example.org").reply_to == (
        "ici@example.org"
    )


def test_each_e_mail_outcome_is_recorded_once_with_nobody_s_data():
    r = submitted("other")
    r.record_email(1, "sent", T0)
    r.record_email(1, "sent", T0)
    r.reject("alice", "vu", T0)
    r.record_email(3, "no_recipient", T0)
    outcomes = [e for e in r.collect_events() if type(e).__name__ == "SupportEmailSent"]
    assert [(e.about_version, e.outcome, e.actor) for e in outcomes] == [
        (1, "sent", "system:mailer"), (3, "no_recipient", "system:mailer"),
    ]
    assert set(vars(outcomes[0])) == {
        "originator_id", "originator_version", "timestamp", "actor", "about_version", "outcome",
    }
    assert r.mailed_versions == [1, 3]
    with pytest.raises(ValueError):
        r.record_email(9, "sent", T0)
    with pytest.raises(ValueError):
        r.record_email(2, "delivered", T0)


def test_the_reference_is_the_request_id_s_first_8_hex_digits_in_capitals():
    request_id = UUID("3f1c1a52-35a5-4a4c-9a57-0d7b1f0f0c11")
    assert support_reference(request_id) == "3F1C1A52"
    assert support_reference(str(request_id)) == "3F1C1A52"


def test_decisions_and_requests_stored_before_replies_read_as_without_them():
    state = {"agent": "alice", "note": "vu", "actor": "support:alice"}
    for event_class in (SupportRequest.SupportRequestAccepted,
                        SupportRequest.SupportRequestRejected):
        old = dict(state)
        event_class.upcast_v1_v2(old)
        assert (old["reply"], old["email_requester"]) == (None, False)
    old_submission: dict = {}
    SupportRequest.SupportRequestSubmitted.upcast_v1_v2(old_submission)
    assert old_submission == {"acknowledge": False}
