"""SupportRequest: decided once, and only when there is something to act on."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import uuid4

import pytest

from domain.errors import AlreadyDecidedError, InvalidTransitionError
from domain.support_request import RequestStatus, SupportRequest
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
