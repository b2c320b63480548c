"""The e-mail guards through the use cases alone (in memory), with the clock in hand and the
races of tests/integration/test_guard_races_mail.py played one interleaving at a time: a
command whose save another one beats is run again from a fresh load (`retried`), and must
decide again on what it then saves.

- credentials e-mails: registration retries and recoveries share a cap of 3 per 24 h, the
  first included, and each one the cap counted goes out;
- a temporary password signs in for 24 hours at most, and a newer one cancels it at once;
- a verification code works once, for 24 hours, and a newer change request cancels it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

import pytest
from eventsourcing.persistence import IntegrityError, OperationalError

from domain import lifecycle
from domain.errors import (
    CredentialsEmailCapError,
    EmailVerificationInvalidError,
    InvalidCredentialsError,
)
from domain.use_cases.views import RecoveryRequest
from tests.helpers import OWN

IDENTITY = RecoveryRequest(
    member_number="M1000001", last_name="Dupré-Lefèvre", first_name="Hélène",
    birth_date=date(1978, 4, 12),
)
DAY = timedelta(hours=24)


def events(world, type_name: str) -> list:
    notifications = world.store.recorder.select_notifications(start=1, limit=100_000)
    return [
        world.store.mapper.to_domain_event(n) for n in notifications
        if n.topic.endswith(f".{type_name}")
    ]


def before_next_save(world, competitor: Callable[[], object]) -> None:
    """The next save is beaten: `competitor` runs (and saves) between its load and its save."""
    store, save = world.store, world.store.save

    def beaten(*aggregates, **kwargs):
        store.save = save
        competitor()
        return save(*aggregates, **kwargs)

    store.save = beaten


def during_bcrypt(world, action: Callable[[], object]) -> None:
    """The sign-in's next password check takes long enough for `action` to happen meanwhile."""
    sign_in = world.cases.sign_in
    hasher = sign_in.hasher

    class Slow:
        def __getattr__(self, name):
            return getattr(hasher, name)

        def verify(self, password, hashed):
            sign_in.hasher = hasher
            matched = hasher.verify(password, hashed)
            action()
            return matched

    sign_in.hasher = Slow()


def send_all(world, account_id) -> list[str]:
    """Every credentials e-mail the workers owe, in request order: their passwords."""
    sent = []
    for request in world.store.account(account_id).credentials_requests:
        issued = world.cases.mail.issue_temporary_password(account_id, request.request_id)
        if issued is not None:
            world.cases.mail.record_credentials_email(account_id, request.request_id, issued=issued)
            sent.append(issued.temporary_password)
    return sent


# Credentials e-mails: the cap, and each counted e-mail sent.


def test_two_recoveries_recorded_before_either_worker_runs_both_get_their_email(world):
    account, _ = world.registered()
    world.cases.recovery.recover(IDENTITY)
    world.cases.recovery.recover(IDENTITY)
    first, second = send_all(world, account.id)
    world.cases.recovery.recover(IDENTITY)  # the fourth e-mail in 24 h: capped
    assert send_all(world, account.id) == []
    assert len(events(world, "CredentialsEmailSent")) == 3
    assert [e.outcome for e in events(world, "RecoveryRequested")] == [
        "credentials_sent", "credentials_sent", "capped"]
    # The password drawn last is the one that signs in.
    with pytest.raises(InvalidCredentialsError):
        world.cases.sign_in.sign_in(account.identifier, first)
    assert world.cases.sign_in.sign_in(account.identifier, second).must_change_password


def test_a_support_resend_is_still_superseded_by_a_newer_request_before_its_worker_runs(world):
    account, _ = world.registered()
    world.cases.support.resend_credentials(account.identifier, "alice")
    world.cases.recovery.recover(IDENTITY)
    assert len(send_all(world, account.id)) == 1
    [sent] = events(world, "CredentialsEmailSent")[1:]
    assert world.store.account(account.id).credentials_request(sent.request_id).reason == (
        "recovery")


def test_a_recovery_that_loses_its_save_to_another_is_capped_at_its_retry(world):
    account, _ = world.registered()
    world.cases.recovery.recover(IDENTITY)  # 2 of 3
    before_next_save(world, lambda: world.cases.recovery.recover(IDENTITY))  # 3 of 3
    world.cases.recovery.recover(IDENTITY)
    requested = events(world, "CredentialsRequested")
    assert [r.reason for r in requested] == ["registration", "recovery", "recovery"]
    assert [e.outcome for e in events(world, "RecoveryRequested")] == [
        "credentials_sent", "credentials_sent", "capped"]
    assert len(send_all(world, account.id)) == 2


def test_a_registration_retry_that_loses_its_save_to_a_recovery_is_capped_at_its_retry(
    world, helene
):
    world.registered()
    world.cases.recovery.recover(IDENTITY)  # 2 of 3
    before_next_save(world, lambda: world.cases.recovery.recover(IDENTITY))  # 3 of 3
    with pytest.raises(CredentialsEmailCapError):
        world.cases.registration.register(helene)
    assert len(events(world, "CredentialsRequested")) == 3


@pytest.mark.parametrize("handed_over", [True, False], ids=["saved account", "loaded"])
def test_a_worker_whose_record_loses_every_attempt_tries_again_and_sends_no_second_email(
    world, monkeypatch, handed_over
):
    """Recorded after the send: had it given up, the message would run again and send a
    second e-mail, with a second password, for the same request."""
    monkeypatch.setattr(lifecycle, "FIRST_PAUSE", 0.0)
    account, _ = world.registered()
    world.cases.recovery.recover(IDENTITY)
    [request_id] = world.cases.mail.pending_credentials_requests(account.id)
    issued = world.cases.mail.issue_temporary_password(account.id, request_id)
    assert issued is not None
    save, lost = world.store.save, []

    def busy(*aggregates, **kwargs):
        if len(lost) < 12:  # more than `retried`'s 8 attempts
            lost.append(1)
            raise IntegrityError("another writer saved the account first")
        return save(*aggregates, **kwargs)

    world.store.save = busy
    world.cases.mail.record_credentials_email(
        account.id, request_id, issued=issued if handed_over else None
    )
    world.store.save = save
    assert world.store.account(account.id).credentials_request(request_id).sent
    assert world.cases.mail.issue_temporary_password(account.id, request_id) is None


def test_the_e_mail_s_record_saves_the_account_its_password_left_without_reading_it(world):
    account, _ = world.registered()
    world.cases.recovery.recover(IDENTITY)
    [request_id] = world.cases.mail.pending_credentials_requests(account.id)
    load, loads = world.store.account, []
    world.store.account = lambda account_id: loads.append(account_id) or load(account_id)
    issued = world.cases.mail.issue_temporary_password(account.id, request_id)
    password_saved_at = issued.saved[0].version
    world.cases.mail.record_credentials_email(account.id, request_id, issued=issued)
    world.store.account = load
    assert loads == [account.id]  # the password's load; none for the record
    sent = world.store.account(account.id)
    assert sent.credentials_request(request_id).sent
    assert sent.version == password_saved_at + 1


def test_a_write_between_the_password_and_the_e_mail_s_record_is_kept_and_the_e_mail_recorded(
    world,
):
    """The saved account handed over is one version behind once a failed sign-in is saved
    meanwhile: its save loses on the version, and the retry records on a fresh load."""
    account, _ = world.registered()
    world.cases.recovery.recover(IDENTITY)
    [request_id] = world.cases.mail.pending_credentials_requests(account.id)
    issued = world.cases.mail.issue_temporary_password(account.id, request_id)
    with pytest.raises(InvalidCredentialsError):
        world.cases.sign_in.sign_in(account.identifier, "Pas-le-bon-1")
    world.cases.mail.record_credentials_email(account.id, request_id, issued=issued)
    assert world.store.account(account.id).credentials_request(request_id).sent
    assert len(events(world, "SignInFailed")) == 1
    assert len(events(world, "CredentialsEmailSent")) == 2  # the registration's, this one


# The temporary password: 24 hours at most, and cancelled at once by a newer one.


def test_a_worker_draws_the_newer_password_while_sign_ins_with_the_older_go_on(world):
    """Each bcrypt hash of the worker lasts as long as a sign-in (at cost 12, a quarter of a
    second, while other members' sign-ins go on): the hash comes before the load, so the
    sign-in saved meanwhile does not beat the worker's save, attempt after attempt."""
    account, older = world.registered()
    world.cases.recovery.recover(IDENTITY)
    [request_id] = world.cases.mail.pending_credentials_requests(account.id)
    hasher = world.cases.mail.hasher

    class Busy:
        def hash(self, password):
            world.cases.sign_in.sign_in(account.identifier, older)
            return hasher.hash(password)

    world.cases.mail.hasher = Busy()
    issued = world.cases.mail.issue_temporary_password(account.id, request_id)
    assert issued is not None and len(events(world, "SignedIn")) == 1
    with pytest.raises(InvalidCredentialsError):
        world.cases.sign_in.sign_in(account.identifier, older)


def test_a_temporary_password_signs_in_until_24_hours_after_it_was_drawn_and_not_after(world):
    account, temporary = world.registered()
    world.clock.advance(hours=24, seconds=-1)
    assert world.cases.sign_in.sign_in(account.identifier, temporary).must_change_password
    world.clock.advance(seconds=1)
    with pytest.raises(InvalidCredentialsError):
        world.cases.sign_in.sign_in(account.identifier, temporary)


def test_a_sign_in_checked_before_the_expiry_and_saved_after_it_is_refused(world):
    account, temporary = world.registered()
    world.clock.advance(hours=24, seconds=-1)
    during_bcrypt(world, lambda: world.clock.advance(seconds=2))
    with pytest.raises(InvalidCredentialsError):
        world.cases.sign_in.sign_in(account.identifier, temporary)
    assert events(world, "SignedIn") == []


def test_a_newer_temporary_password_drawn_while_the_older_is_checked_cancels_it(world):
    account, older = world.registered()
    newer = []

    def recovery() -> None:
        world.cases.recovery.recover(IDENTITY)
        newer.extend(send_all(world, account.id))

    during_bcrypt(world, recovery)
    with pytest.raises(InvalidCredentialsError):
        world.cases.sign_in.sign_in(account.identifier, older)
    assert events(world, "SignedIn") == []
    assert world.cases.sign_in.sign_in(account.identifier, newer[0]).must_change_password


def test_a_newer_temporary_password_cancels_the_older_one_at_once_but_not_the_own(world):
    account, temporary = world.registered()
    world.cases.sign_in.change_password(account.id, temporary, OWN)
    world.cases.recovery.recover(IDENTITY)
    [older] = send_all(world, account.id)
    world.cases.recovery.recover(IDENTITY)
    [newer] = send_all(world, account.id)
    with pytest.raises(InvalidCredentialsError):
        world.cases.sign_in.sign_in(account.identifier, older)
    assert not world.cases.sign_in.sign_in(account.identifier, OWN).must_change_password
    assert world.cases.sign_in.sign_in(account.identifier, newer).must_change_password


# The verification code of an e-mail change: once, 24 hours, the newest only.


def with_code(world, new_email: str = "helene.nouvelle@example.org"):
    account, temporary = world.registered()
    world.cases.sign_in.change_password(account.id, temporary, OWN)
    return account, requested_code(world, account, new_email)


def requested_code(world, account, new_email: str) -> str:
    world.cases.recovery.request_email_change(account.id, new_email, OWN)
    request_id = world.store.account(account.id).email_change.request_id
    return world.cases.mail.issue_email_verification(account.id, request_id).code


def test_a_code_changes_the_email_once(world):
    _, code = with_code(world)
    assert world.cases.recovery.verify_email(code) == "helene.nouvelle@example.org"
    with pytest.raises(EmailVerificationInvalidError):
        world.cases.recovery.verify_email(code)
    [changed] = events(world, "EmailChanged")
    assert (changed.old, changed.reason) == ("helene@example.org", "member")


def test_a_second_verification_that_loses_its_save_to_the_first_changes_nothing(world):
    _, code = with_code(world)
    before_next_save(world, lambda: world.cases.recovery.verify_email(code))
    with pytest.raises(EmailVerificationInvalidError):
        world.cases.recovery.verify_email(code)
    assert len(events(world, "EmailChanged")) == 1


def test_a_code_works_until_24_hours_after_it_was_drawn_and_not_after(world):
    _, code = with_code(world)
    world.clock.advance(hours=24)
    with pytest.raises(EmailVerificationInvalidError):
        world.cases.recovery.verify_email(code)
    assert events(world, "EmailChanged") == []


def test_a_newer_change_request_cancels_the_older_code_before_its_own_is_drawn(world):
    account, older = with_code(world)
    world.cases.recovery.request_email_change(account.id, "autre@example.org", OWN)
    with pytest.raises(EmailVerificationInvalidError):
        world.cases.recovery.verify_email(older)
    request_id = world.store.account(account.id).email_change.request_id
    newer = world.cases.mail.issue_email_verification(account.id, request_id).code
    assert world.cases.recovery.verify_email(newer) == "autre@example.org"


def test_a_verification_that_loses_its_save_to_a_newer_request_changes_nothing(world):
    account, older = with_code(world)
    before_next_save(world, lambda: world.cases.recovery.request_email_change(
        account.id, "autre@example.org", OWN))
    with pytest.raises(EmailVerificationInvalidError):
        world.cases.recovery.verify_email(older)
    assert events(world, "EmailChanged") == []
    assert world.store.account(account.id).email_change.new_email == "autre@example.org"


def test_the_saved_account_is_taken_once_so_a_failed_save_never_leaves_a_gap(world):
    """A save that fails otherwise than on its version (the database gone) has taken the
    account's event already: handed over again, that account would be saved one version on,
    past a version the store never got, and the chain would break there."""
    account, _ = world.registered()
    world.cases.recovery.recover(IDENTITY)
    [request_id] = world.cases.mail.pending_credentials_requests(account.id)
    issued = world.cases.mail.issue_temporary_password(account.id, request_id)
    save = world.store.save

    def gone(*aggregates, **kwargs):
        for aggregate in aggregates:
            aggregate.collect_events()  # as the library's save does before it records
        raise OperationalError("the database is gone")

    world.store.save = gone
    with pytest.raises(OperationalError):
        world.cases.mail.record_credentials_email(account.id, request_id, issued=issued)
    world.store.save = save
    world.cases.mail.record_credentials_email(account.id, request_id, issued=issued)

    versions = [
        e.originator_version for e in world.store.events.get(account.id)
    ]
    assert versions == list(range(1, len(versions) + 1))
    assert world.store.account(account.id).credentials_request(request_id).sent
