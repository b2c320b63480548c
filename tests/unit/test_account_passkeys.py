"""An account's passkeys, recovery codes and passkey requirement: the events each command
records and the guards that refuse (domain/account_passkeys.py)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from domain.account_passkeys import MAX_PASSKEYS, RECOVERY_CODES, before_passkeys
from domain.errors import (
    AccountClosedError,
    AccountLockedError,
    FieldError,
    PasskeyRefusedError,
    PasskeyRequiredError,
)
from tests.helpers import T0, account, event_names

CODES = [f"hash-{n}" for n in range(RECOVERY_CODES)]


def with_passkey(credential_id: str = "cred-1", sign_count: int = 0):
    a = account()
    a.change_password("own-hash", T0)
    a.add_passkey(credential_id, "public-key", sign_count, "Mon téléphone", T0, CODES)
    a.collect_events()
    return a


def test_the_first_passkey_comes_with_ten_recovery_codes_and_the_next_without():
    a = account()
    a.add_passkey("cred-1", "pk", 0, "  Mon   téléphone ", T0, CODES)
    assert event_names(a)[-2:] == ["PasskeyAdded", "RecoveryCodesGenerated"]
    assert a.passkeys[0].name == "Mon téléphone" and a.recovery_codes_left == RECOVERY_CODES
    a.collect_events()
    a.add_passkey("cred-2", "pk2", 0, "Ordinateur", T0)
    assert [e.__class__.__name__ for e in a.collect_events()] == ["PasskeyAdded"]
    assert [p.credential_id for p in a.passkeys] == ["cred-1", "cred-2"]


def test_the_first_passkey_without_its_codes_is_a_programming_error():
    with pytest.raises(ValueError):
        account().add_passkey("cred-1", "pk", 0, "Clé", T0, CODES[:9])


@pytest.mark.parametrize("name", ["", "   ", "x" * 61])
def test_a_passkey_needs_a_name_of_at_most_60_characters(name):
    a = account()
    with pytest.raises(FieldError) as refused:
        a.add_passkey("cred-1", "pk", 0, name, T0, CODES)
    assert refused.value.field == "name" and a.passkeys == []
    a.add_passkey("cred-1", "pk", 0, "x" * 60, T0, CODES)  # the bound itself is accepted


def test_the_same_credential_is_not_added_twice():
    a = with_passkey()
    with pytest.raises(PasskeyRefusedError):
        a.add_passkey("cred-1", "pk", 0, "Encore", T0)
    assert a.collect_events() == []


def test_an_account_keeps_ten_passkeys_at_most():
    a = with_passkey()
    for n in range(2, MAX_PASSKEYS + 1):
        a.add_passkey(f"cred-{n}", "pk", 0, f"Clé {n}", T0)
    assert len(a.passkeys) == MAX_PASSKEYS
    with pytest.raises(FieldError):
        a.add_passkey("cred-11", "pk", 0, "Une de trop", T0)
    assert len(a.passkeys) == MAX_PASSKEYS


def test_requiring_a_passkey_refuses_a_right_password_then_removing_the_last_lifts_it():
    a = with_passkey()
    a.require_passkey(True, a.actor, T0)
    with pytest.raises(PasskeyRequiredError):
        a.sign_in("own-hash", T0)
    a.remove_passkey("cred-1", T0)
    assert event_names(a)[-2:] == ["PasskeyRemoved", "PasskeyRequirementSet"]
    assert a.passkey_required is False
    a.sign_in("own-hash", T0)


def test_requiring_a_passkey_needs_one():
    a = account()
    with pytest.raises(FieldError):
        a.require_passkey(True, a.actor, T0)
    assert a.passkey_required is False


def test_a_passkey_sign_in_moves_the_counter_on_and_resets_the_failures():
    a = with_passkey(sign_count=5)
    a.fail_sign_in(T0)
    a.sign_in_with_passkey("cred-1", 6, T0 + timedelta(minutes=1))
    assert (a.passkeys[0].sign_count, a.passkeys[0].last_used_at) == (6, T0 + timedelta(minutes=1))
    assert a.failed_sign_ins == 0 and a.has_signed_in


@pytest.mark.parametrize("stored, sent", [(5, 5), (5, 4), (5, 0), (0, 0)])
def test_a_counter_that_does_not_increase_is_refused_unless_the_authenticator_keeps_none(
    stored, sent
):
    a = with_passkey(sign_count=stored)
    if stored == sent == 0:  # an authenticator without a counter: 0 every time
        a.sign_in_with_passkey("cred-1", 0, T0)
        return
    with pytest.raises(PasskeyRefusedError):
        a.sign_in_with_passkey("cred-1", sent, T0)
    assert a.collect_events() == [] and a.passkeys[0].sign_count == stored


def test_a_passkey_lets_its_owner_in_while_password_guesses_keep_the_account_locked():
    a = with_passkey()
    for _ in range(5):
        a.fail_sign_in(T0)
    assert a.is_locked(T0)
    a.sign_in_with_passkey("cred-1", 1, T0)
    with pytest.raises(PasskeyRefusedError):
        a.sign_in_with_passkey("another", 2, T0)


def test_a_recovery_code_is_spent_once():
    a = with_passkey()
    assert a.spend_recovery_code("hash-3", T0) is True
    event = a.collect_events()[-1]
    assert (type(event).__name__, event.code_index, event.codes_left) == (
        "SignedInWithRecoveryCode", 3, RECOVERY_CODES - 1)
    assert "hash-3" not in vars(event).values()
    assert a.spend_recovery_code("hash-3", T0) is False
    assert a.collect_events() == [] and a.recovery_codes_left == RECOVERY_CODES - 1


def test_a_recovery_code_is_refused_while_locked_and_on_a_closed_account():
    a = with_passkey()
    for _ in range(5):
        a.fail_sign_in(T0)
    with pytest.raises(AccountLockedError):
        a.spend_recovery_code("hash-1", T0)
    a.close("alice", T0)
    with pytest.raises(AccountClosedError):
        a.spend_recovery_code("hash-1", T0 + timedelta(hours=1))


def test_new_recovery_codes_replace_every_older_one():
    a = with_passkey()
    a.spend_recovery_code("hash-0", T0)
    a.regenerate_recovery_codes([f"new-{n}" for n in range(RECOVERY_CODES)], T0)
    assert a.recovery_codes_left == RECOVERY_CODES
    assert a.spend_recovery_code("hash-1", T0) is False


def test_an_account_snapshot_from_before_passkeys_reads_with_none():
    state = {"identifier": "12345678"}
    before_passkeys(state)
    assert state == {"identifier": "12345678", "passkeys": [], "recovery_code_hashes": [],
                     "passkey_required": False}
