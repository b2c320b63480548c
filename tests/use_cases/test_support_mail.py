"""The e-mails to someone who wrote to support, as the mail worker asks for them and records
them (domain/use_cases/support_mail.py), in memory: where each goes, once each."""

from __future__ import annotations

import pytest

from domain.errors import FieldError
from domain.mail import MailOutcome
from domain.support_request import RequestStatus
from domain.use_cases.support_mail import SupportMailDelivery
from domain.use_cases.views import SupportRequestForm

REPLY = "Nous avons retrouvé votre compte : vos codes d'accès vous sont renvoyés."


def form(**fields: str) -> SupportRequestForm:
    return SupportRequestForm(**{
        "kind": "other", "last_name": "Martin", "first_name": "Louise",
        "message": "Je ne reçois pas mes codes.", **fields,
    })


@pytest.fixture
def mail(world) -> SupportMailDelivery:
    return SupportMailDelivery(world.store, world.clock)


def outcomes(world, request_id) -> list[tuple[int, str]]:
    return [
        (e.about_version, e.outcome) for e in world.store.events.get(request_id)
        if type(e).__name__ == "SupportEmailSent"
    ]


def test_a_request_is_acknowledged_at_the_address_given_once(world, mail):
    request_id = world.cases.support.submit_support_request(form(email="louise@example.org"))
    email = mail.email_to_send(request_id, 1)
    assert (email.mail, email.email, email.kind, email.accepted) == (
        "support_acknowledgement", "louise@example.org", "other", None,
    )
    mail.record_email(request_id, 1, MailOutcome.SENT)
    mail.record_email(request_id, 1, MailOutcome.SENT)  # a message run twice
    assert mail.email_to_send(request_id, 1) is None
    assert outcomes(world, request_id) == [(1, "sent")]


def test_without_an_address_the_linked_account_s_is_used(world, mail):
    account, _ = world.registered()
    request_id = world.cases.support.submit_support_request(form(identifier=account.identifier))
    assert mail.email_to_send(request_id, 1).email == "helene@example.org"


def test_an_e_mail_update_is_acknowledged_at_the_new_address(world, mail):
    account, _ = world.registered()
    request_id = world.cases.support.submit_support_request(form(
        kind="email_update", identifier=account.identifier, email="helene@example.org",
        new_email="neuve@example.org",
    ))
    assert mail.email_to_send(request_id, 1).email == "neuve@example.org"


def test_an_acknowledgement_sent_after_the_address_changed_goes_to_the_new_one(world, mail):
    """The worker may reach the acknowledgement after an agent accepted the update: the
    account's address as it is then, never one the account no longer has."""
    account, _ = world.registered()
    request_id = world.cases.support.submit_support_request(form(
        kind="email_update", identifier=account.identifier,
    ))
    world.cases.support.decide_request(request_id, True, "alice", "vu", "neuve@example.org")
    assert mail.email_to_send(request_id, 1).email == "neuve@example.org"


def test_nobody_to_tell_means_no_acknowledgement_is_even_due(world, mail):
    request_id = world.cases.support.submit_support_request(form())
    assert world.store.support_request(request_id).acknowledge is False
    assert mail.email_to_send(request_id, 1) is None
    assert outcomes(world, request_id) == []


def test_the_decision_and_its_reply_go_to_the_requester(world, mail):
    request_id = world.cases.support.submit_support_request(form(email="louise@example.org"))
    decided = world.cases.support.decide_request(
        request_id, False, "alice", "note interne", None, reply=REPLY
    )
    assert (decided.status, decided.reply) == (RequestStatus.REJECTED, REPLY)
    email = mail.email_to_send(request_id, 2)
    assert (email.mail, email.email, email.accepted, email.reply) == (
        "support_decision", "louise@example.org", False, REPLY,
    )
    assert "note interne" not in repr(email)
    mail.record_email(request_id, 2, MailOutcome.SENT)
    assert mail.email_to_send(request_id, 2) is None


def test_an_accepted_e_mail_update_is_told_by_its_credentials_unless_there_is_a_reply(
    world, mail
):
    account, _ = world.registered()
    quiet, replied = (
        world.cases.support.submit_support_request(form(
            kind="email_update", identifier=account.identifier, new_email=f"n{n}@example.org",
        )) for n in range(2)
    )
    world.cases.support.decide_request(quiet, True, "alice", "vu", None)
    assert mail.email_to_send(quiet, 2) is None
    world.cases.support.decide_request(replied, True, "alice", "vu", None, reply=REPLY)
    email = mail.email_to_send(replied, 2)
    assert (email.email, email.accepted, email.reply) == ("n1@example.org", True, REPLY)


def test_an_accepted_closure_refuses_a_reply_and_records_nothing(world):
    account, password = world.registered()
    request_id = world.cases.closure.request_closure(account.id, password)
    with pytest.raises(FieldError):
        world.cases.support.decide_request(request_id, True, "alice", "vu", None, reply=REPLY)
    assert world.store.support_request(request_id).status is RequestStatus.OPEN
    assert world.store.account(account.id).is_open


def test_a_refused_closure_from_the_member_s_space_is_e_mailed_to_the_account(world, mail):
    account, password = world.registered()
    request_id = world.cases.closure.request_closure(account.id, password)
    assert mail.email_to_send(request_id, 1) is None  # the page confirmed the request
    world.cases.support.decide_request(request_id, False, "alice", "vu", None, reply=REPLY)
    email = mail.email_to_send(request_id, 2)
    assert (email.email, email.kind, email.accepted) == ("helene@example.org", "closure", False)
