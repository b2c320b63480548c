"""A sign-in does the same work whatever the identifier and the account (issue 15): exactly one
bcrypt verification on every path, counted at bcrypt itself, and a write only where the
lockout needs one. No timings here: bench/sign_in_timing.py measures them."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import bcrypt
import pytest

from adapters.hashing import BcryptHasher
from domain.errors import InvalidCredentialsError, WrongPasswordError
from domain.use_cases.views import RecoveryRequest
from tests.helpers import OTHER, OWN

WRONG_PHRASE = "Pas le bon mot de passe, hélas"
WRONG_TEMPORARY = "Kqzwmxvbn7"  # the shape of a temporary password
UNKNOWN = "99999999"


class Bcrypt:
    """Counts what bcrypt is asked to do, whoever asks."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch):
        self.verifications = self.hashes = 0
        checkpw, hashpw = bcrypt.checkpw, bcrypt.hashpw

        def counted_checkpw(password: bytes, hashed: bytes) -> bool:
            self.verifications += 1
            return checkpw(password, hashed)

        def counted_hashpw(password: bytes, salt: bytes) -> bytes:
            self.hashes += 1
            return hashpw(password, salt)

        monkeypatch.setattr(bcrypt, "checkpw", counted_checkpw)
        monkeypatch.setattr(bcrypt, "hashpw", counted_hashpw)


def event_types(world) -> list[str]:
    notifications = world.store.recorder.select_notifications(start=1, limit=100_000)
    return [n.topic.rpartition(".")[2] for n in notifications]


def with_own_password(world):
    account, temporary = world.registered()
    world.cases.sign_in.change_password(account.id, temporary, OWN)
    return account


# Each set-up gives an identifier and the password that would be right for it.


def nobody(world) -> tuple[str, str]:
    return UNKNOWN, OWN


def malformed(world) -> tuple[str, str]:
    return "abc", OWN


def own(world) -> tuple[str, str]:
    return with_own_password(world).identifier, OWN


def temporary(world) -> tuple[str, str]:
    account, password = world.registered()
    return account.identifier, password


def recovering(world) -> tuple[str, str]:
    """A member with an own password (OWN) who asked for new credentials: both sign in."""
    account = with_own_password(world)
    world.cases.recovery.recover(RecoveryRequest(
        member_number="M1000001", last_name="Dupré-Lefèvre", first_name="Hélène",
        birth_date=date(1978, 4, 12),
    ))
    [request_id] = world.cases.mail.pending_credentials_requests(account.id)
    issued = world.cases.mail.issue_temporary_password(account.id, request_id)
    return account.identifier, issued.temporary_password


def locked(world) -> tuple[str, str]:
    identifier, password = temporary(world)
    for _ in range(5):
        with pytest.raises(InvalidCredentialsError):
            world.cases.sign_in.sign_in(identifier, WRONG_PHRASE)
    return identifier, password


def closed(world) -> tuple[str, str]:
    account, password = world.registered()
    request_id = world.cases.closure.request_closure(account.id, password)
    world.cases.support.decide_request(request_id, True, "alice", "demande du membre", None)
    return account.identifier, password


def expired(world) -> tuple[str, str]:
    identifier, password = temporary(world)
    world.clock.advance(hours=24, seconds=1)
    return identifier, password


RIGHT = "{right}"
SIGNED_IN, FAILED, NOTHING = ["SignedIn"], ["SignInFailed"], []
PATHS = [
    pytest.param(nobody, OWN, False, NOTHING, id="unknown identifier"),
    pytest.param(malformed, OWN, False, NOTHING, id="malformed identifier"),
    pytest.param(own, OWN, True, SIGNED_IN, id="own password, right"),
    pytest.param(own, WRONG_PHRASE, False, FAILED, id="own password, wrong"),
    pytest.param(own, WRONG_TEMPORARY, False, FAILED, id="own password, wrong, temp shape"),
    pytest.param(temporary, RIGHT, True, SIGNED_IN, id="temporary password, right"),
    pytest.param(temporary, WRONG_TEMPORARY, False, FAILED, id="temporary password, wrong"),
    pytest.param(temporary, WRONG_PHRASE, False, FAILED, id="temporary password, a phrase"),
    pytest.param(recovering, OWN, True, SIGNED_IN, id="both live, the own one"),
    pytest.param(recovering, RIGHT, True, SIGNED_IN, id="both live, the temporary one"),
    pytest.param(recovering, f" {RIGHT}\r\n", True, SIGNED_IN, id="both live, a pasted one"),
    pytest.param(recovering, WRONG_PHRASE, False, FAILED, id="both live, a wrong phrase"),
    pytest.param(recovering, WRONG_TEMPORARY, False, FAILED, id="both live, wrong, temp shape"),
    pytest.param(locked, RIGHT, False, NOTHING, id="locked, the right password"),
    pytest.param(locked, WRONG_PHRASE, False, NOTHING, id="locked, a wrong password"),
    pytest.param(closed, RIGHT, False, NOTHING, id="closed"),
    pytest.param(expired, RIGHT, False, FAILED, id="temporary password expired, no own one"),
]


@pytest.mark.parametrize(("set_up", "typed", "signs_in", "writes"), PATHS)
def test_every_sign_in_runs_one_bcrypt_verification_and_writes_only_a_counted_failure(
    world, monkeypatch, set_up, typed, signs_in, writes
):
    identifier, right = set_up(world)
    before = len(event_types(world))
    counted = Bcrypt(monkeypatch)
    try:
        world.cases.sign_in.sign_in(identifier, typed.format(right=right))
        signed_in = True
    except InvalidCredentialsError:
        signed_in = False
    assert (counted.verifications, counted.hashes) == (1, 0)
    assert signed_in is signs_in
    assert event_types(world)[before:] == writes


def test_a_wrong_confirming_password_is_one_verification_and_one_counted_failure(
    world, monkeypatch
):
    account = with_own_password(world)
    before = len(event_types(world))
    counted = Bcrypt(monkeypatch)
    with pytest.raises(WrongPasswordError):
        world.cases.sign_in.change_password(account.id, WRONG_PHRASE, OTHER)
    assert (counted.verifications, counted.hashes) == (1, 0)
    assert event_types(world)[before:] == FAILED


def test_a_right_confirming_password_is_one_verification(world, monkeypatch):
    account = with_own_password(world)
    counted = Bcrypt(monkeypatch)
    world.cases.sign_in.change_password(account.id, OWN, OTHER)
    assert (counted.verifications, counted.hashes) == (1, 1)  # the new password's hash


def test_a_locked_account_confirms_nothing_after_one_verification(world, monkeypatch):
    identifier, password = locked(world)
    account_id = world.store.account_by_identifier(identifier).id
    counted = Bcrypt(monkeypatch)
    with pytest.raises(WrongPasswordError):
        world.cases.sign_in.change_password(account_id, password, OWN)
    assert (counted.verifications, counted.hashes) == (1, 0)


def test_a_recovering_member_keeps_the_own_password_until_the_temporary_one_is_used(world):
    identifier, temporary = recovering(world)
    assert not world.cases.sign_in.sign_in(identifier, OWN).must_change_password
    assert world.cases.sign_in.sign_in(identifier, temporary).must_change_password
    with pytest.raises(InvalidCredentialsError):
        world.cases.sign_in.sign_in(identifier, OWN)


# Which hash a typed password is checked against.


def test_a_password_in_a_temporary_ones_shape_is_checked_against_the_temporary_hash(world):
    identifier, _ = recovering(world)
    account = world.store.account_by_identifier(identifier)
    at = world.clock()
    assert account.hash_for(" Kqzwmxvbn7\n", at) == (account.temp_password_hash, "Kqzwmxvbn7")
    assert account.hash_for(OWN, at) == (account.password_hash, OWN)
    assert account.hash_for(" Kqzwmxvbn7 etc.", at) == (account.password_hash, " Kqzwmxvbn7 etc.")


def test_without_a_live_temporary_password_everything_is_checked_against_the_own_hash(world):
    account = world.store.account(with_own_password(world).id)
    assert account.hash_for("Kqzwmxvbn7", world.clock()) == (account.password_hash, "Kqzwmxvbn7")


def test_an_account_with_no_password_that_signs_in_is_checked_against_the_decoy(world):
    identifier, password = expired(world)
    account = world.store.account_by_identifier(identifier)
    assert account.hash_for(password, world.clock()) == (None, password)


# The decoy.


def test_the_decoy_costs_what_hashes_made_now_cost_and_never_matches(monkeypatch):
    hasher = BcryptHasher(5)
    assert hasher.decoy.split("$")[2] == hasher.hash("x").split("$")[2] == "05"
    counted = Bcrypt(monkeypatch)
    assert hasher.verify("decoy", None) is False
    assert counted.verifications == 1


def test_a_recovery_on_a_closed_secret_answer_path_still_runs_one_verification(
    world, helene, monkeypatch
):
    """Without it, a closed path would answer ~one bcrypt check sooner than a recovery for
    nobody (which checks the decoy), telling by its time that the member has an account."""
    world.registered(replace(helene, secret_question="Ville natale ?", secret_answer="Lyon"))
    asking = RecoveryRequest(
        member_number=helene.member_number, last_name=helene.last_name,
        first_name=helene.first_name, birth_date=helene.birth_date,
        new_email="ailleurs@example.org", secret_answer="Paris",
    )
    for _ in range(3):
        world.cases.recovery.recover(asking)
    counted = Bcrypt(monkeypatch)
    world.cases.recovery.recover(asking)  # the path is closed now
    world.cases.recovery.recover(
        RecoveryRequest(**{**vars(asking), "member_number": "M9999999"})
    )
    assert (counted.verifications, counted.hashes) == (2, 0)
