"""Passkeys and recovery codes through the use cases, in memory, with the real ceremonies
(py_webauthn: pure computation) answered by a software authenticator."""

from __future__ import annotations

import pytest

from domain.account_passkeys import RECOVERY_CODES
from domain.errors import (
    FieldError,
    InvalidCredentialsError,
    PasskeyRefusedError,
    ReauthenticationRequiredError,
)
from domain.use_cases.passkeys import REAUTHENTICATION_WINDOW, Passkeys
from domain.use_cases.views import RecoveryRequest
from tests.soft_authenticator import SoftAuthenticator

ORIGIN, RP_ID = "http://localhost:5000", "localhost"
OWN = "Une phrase de passe bien à moi"


@pytest.fixture
def passkeys(world) -> Passkeys:
    return world.cases.passkeys


@pytest.fixture
def member(world):
    account, temporary = world.registered()
    world.cases.sign_in.change_password(account.id, temporary, OWN)
    return world.store.account(account.id)


@pytest.fixture
def authenticator() -> SoftAuthenticator:
    return SoftAuthenticator(ORIGIN, RP_ID)


def add(passkeys, world, member, authenticator, name="Mon téléphone"):
    now = world.clock()
    options = passkeys.registration_options(member.id, now)
    return passkeys.add(member.id, name, authenticator.create(options), now)


def test_the_first_passkey_shows_ten_recovery_codes_once_and_signs_in_alone(
    passkeys, world, member, authenticator
):
    added = add(passkeys, world, member, authenticator)
    assert len(added.recovery_codes) == RECOVERY_CODES
    assert len(set(added.recovery_codes)) == RECOVERY_CODES
    assert added.passkey.name == "Mon téléphone"
    second = add(passkeys, world, member, SoftAuthenticator(ORIGIN, RP_ID), "Ordinateur")
    assert second.recovery_codes == []
    opened = passkeys.sign_in(authenticator.get(passkeys.sign_in_options()))
    assert world.sessions.open_sessions[opened.token].account_id == member.id
    assert opened.must_change_password is False
    listed = passkeys.listed(member.id)
    assert [p.name for p in listed.passkeys] == ["Mon téléphone", "Ordinateur"]
    assert listed.passkeys[0].last_used_at == world.clock()


def test_no_event_holds_a_recovery_code(passkeys, world, member, authenticator):
    codes = add(passkeys, world, member, authenticator).recovery_codes
    stored = repr([vars(e) for e in world.store.events.get(member.id)])
    compact = [code.replace("-", "") for code in codes]
    assert not any(code in stored or plain in stored for code, plain in zip(
        codes, compact, strict=True))


def test_adding_a_passkey_needs_a_proof_of_identity_of_the_last_five_minutes(
    passkeys, world, member, authenticator
):
    proved = world.clock() - REAUTHENTICATION_WINDOW  # exactly 5 minutes ago: still in time
    response = authenticator.create(passkeys.registration_options(member.id, proved))
    added = passkeys.add(member.id, "Clé", response, proved)
    assert added.passkey.name == "Clé"
    world.clock.advance(seconds=1)
    with pytest.raises(ReauthenticationRequiredError):
        passkeys.registration_options(member.id, proved)
    with pytest.raises(ReauthenticationRequiredError):
        passkeys.remove(member.id, added.passkey.passkey_id, proved)


def test_a_registration_answers_its_own_challenge_once(passkeys, world, member, authenticator):
    now = world.clock()
    response = authenticator.create(passkeys.registration_options(member.id, now))
    passkeys.add(member.id, "Clé", response, now)
    before = len(list(world.store.events.get(member.id)))
    with pytest.raises(PasskeyRefusedError):
        passkeys.add(member.id, "Encore", authenticator.replay(), now)
    assert len(list(world.store.events.get(member.id))) == before


def test_a_sign_in_is_refused_for_a_replay_a_wrong_origin_or_an_unknown_passkey(
    passkeys, world, member, authenticator
):
    add(passkeys, world, member, authenticator)
    passkeys.sign_in(authenticator.get(passkeys.sign_in_options()))
    before = len(list(world.store.events.get(member.id)))
    with pytest.raises(InvalidCredentialsError):
        passkeys.sign_in(authenticator.replay())
    with pytest.raises(InvalidCredentialsError):
        passkeys.sign_in(authenticator.get(passkeys.sign_in_options(), origin="http://evil.test"))
    stranger = SoftAuthenticator(ORIGIN, RP_ID)
    stranger.create(passkeys.registration_options(member.id, world.clock()))  # never added
    with pytest.raises(InvalidCredentialsError):
        passkeys.sign_in(stranger.get(passkeys.sign_in_options()))
    assert len(list(world.store.events.get(member.id))) == before


def test_requiring_a_passkey_refuses_the_password_and_a_recovery_code_lets_in_once(
    passkeys, world, member, authenticator
):
    codes = add(passkeys, world, member, authenticator).recovery_codes
    assert passkeys.require(member.id, True, world.clock()) is True
    with pytest.raises(InvalidCredentialsError):
        world.cases.sign_in.sign_in(member.identifier, OWN)
    typed = codes[4].lower().replace("-", " ")  # as a member may type it
    opened = passkeys.sign_in_with_code(member.identifier, typed)
    assert world.sessions.open_sessions[opened.token].account_id == member.id
    with pytest.raises(InvalidCredentialsError):
        passkeys.sign_in_with_code(member.identifier, codes[4])
    assert passkeys.listed(member.id).recovery_codes_left == RECOVERY_CODES - 1


def test_wrong_recovery_codes_lock_the_account_at_the_fifth(passkeys, world, member, authenticator):
    codes = add(passkeys, world, member, authenticator).recovery_codes
    for _ in range(4):
        with pytest.raises(InvalidCredentialsError):
            passkeys.sign_in_with_code(member.identifier, "AAAA-AAAA-AAAA-AAAA")
    assert not world.store.account(member.id).is_locked(world.clock())
    with pytest.raises(InvalidCredentialsError):
        passkeys.sign_in_with_code(member.identifier, "not a code")
    assert world.store.account(member.id).is_locked(world.clock())
    with pytest.raises(InvalidCredentialsError):  # locked: even a right code waits
        passkeys.sign_in_with_code(member.identifier, codes[0])
    assert passkeys.listed(member.id).recovery_codes_left == RECOVERY_CODES


def test_removing_the_last_passkey_lets_the_password_sign_in_again(
    passkeys, world, member, authenticator
):
    added = add(passkeys, world, member, authenticator)
    passkeys.require(member.id, True, world.clock())
    passkeys.remove(member.id, added.passkey.passkey_id, world.clock())
    assert passkeys.listed(member.id).required is False
    world.cases.sign_in.sign_in(member.identifier, OWN)


def test_requiring_a_passkey_without_one_is_refused(passkeys, world, member):
    with pytest.raises(FieldError):
        passkeys.require(member.id, True, world.clock())


def test_regenerated_codes_replace_the_old_ones(passkeys, world, member, authenticator):
    old = add(passkeys, world, member, authenticator).recovery_codes
    new = passkeys.regenerate_recovery_codes(member.id, world.clock())
    assert len(new) == RECOVERY_CODES and not set(new) & set(old)
    with pytest.raises(InvalidCredentialsError):
        passkeys.sign_in_with_code(member.identifier, old[0])
    passkeys.sign_in_with_code(member.identifier, new[0])


def test_a_reauthentication_takes_only_this_accounts_passkey(
    passkeys, world, member, authenticator, helene
):
    add(passkeys, world, member, authenticator)
    passkeys.reauthenticate(member.id, authenticator.get(passkeys.reauthentication_options(
        member.id)))
    with pytest.raises(PasskeyRefusedError):  # a sign-in challenge is not a re-authentication's
        passkeys.reauthenticate(member.id, authenticator.get(passkeys.sign_in_options()))


def test_a_member_who_requires_a_passkey_gets_no_credentials_by_recovery(
    passkeys, world, member, authenticator, helene
):
    add(passkeys, world, member, authenticator)
    passkeys.require(member.id, True, world.clock())
    before = world.store.account(member.id)
    for answer in (None, "Médor"):
        world.cases.recovery.recover(RecoveryRequest(
            member_number=helene.member_number, last_name=helene.last_name,
            first_name=helene.first_name, birth_date=helene.birth_date,
            new_email="pirate@example.org" if answer else None, secret_answer=answer,
        ))
    after = world.store.account(member.id)
    assert after.credentials_requests == before.credentials_requests
    assert after.email == before.email
    outcomes = [e.outcome for e in world.store.events.get(member.id)
                if type(e).__name__ == "RecoveryRequested"]
    assert outcomes == ["passkey_required", "passkey_required"]
