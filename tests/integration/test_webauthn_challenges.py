"""WebAuthn challenges in the database, on SQLite and PostgreSQL: issued with the options,
consumed once with the response (not twice, not for another purpose, not late), purged when
never used, and never kept in any readable form. Then a passkey's whole life with them and a
software authenticator."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from eventsourcing.persistence import InfrastructureFactory
from eventsourcing.utils import Environment

from adapters import schema
from adapters.database import Database, eventsourcing_env, schema_lock
from adapters.webauthn_ceremonies import WebAuthnCeremonies
from adapters.webauthn_challenges import WebAuthnChallenges
from domain.errors import PasskeyRefusedError
from tests.helpers import FakeClock
from tests.soft_authenticator import SoftAuthenticator, b64url

ORIGIN, RP_ID = "http://localhost:5000", "localhost"
ACCOUNT = uuid.UUID("0b7c6a5e-6f0e-4c8e-9a57-3d1f2b6c7a10")


@pytest.fixture
def database(settings):
    """Our tables only, migrated as a process's start-up does (bootstrap/__init__.py)."""
    env = eventsourcing_env(settings)
    with schema_lock(settings):
        factory = InfrastructureFactory.construct(Environment("AccountLifecycle", env))
        database = Database(factory.datastore)  # type: ignore[attr-defined]
        schema.migrate(settings, database)
    yield database
    factory.close()


@pytest.fixture
def challenges(database, clock: FakeClock) -> WebAuthnChallenges:
    return WebAuthnChallenges(database, clock)


def table_names(database) -> set[str]:
    if database.kind == "sqlite":
        found = database.run("SELECT name FROM sqlite_master WHERE type = 'table'")
    else:
        found = database.run("SELECT table_name AS name FROM information_schema.tables"
                             " WHERE table_schema = 'public'")
    return {row["name"] for row in found}


def rows(database) -> list[dict]:
    return database.run("SELECT * FROM webauthn_challenges")


def test_a_challenge_is_consumed_once_with_its_account(challenges, database):
    challenge = bytes(range(32))
    challenges.issue(challenge, "registration", ACCOUNT)
    challenges.issue(bytes(32), "sign_in", None)

    assert challenges.consume(challenge, "registration") == (True, ACCOUNT)
    assert challenges.consume(challenge, "registration") == (False, None)  # replayed
    assert challenges.consume(bytes(32), "sign_in") == (True, None)
    assert rows(database) == []


def test_an_unknown_or_empty_challenge_is_refused(challenges):
    challenges.issue(bytes(range(32)), "sign_in", None)
    assert challenges.consume(bytes(range(1, 33)), "sign_in") == (False, None)
    assert challenges.consume(b"", "sign_in") == (False, None)
    assert challenges.consume(bytes(range(32)), "sign_in") == (True, None)


def test_a_challenge_for_another_purpose_is_refused_and_spent(challenges):
    challenge = bytes(range(32))
    challenges.issue(challenge, "reauthentication", ACCOUNT)

    assert challenges.consume(challenge, "sign_in") == (False, None)
    assert challenges.consume(challenge, "reauthentication") == (False, None)


def test_a_challenge_expires_after_its_lifetime(challenges, clock, database):
    early, late, custom = bytes(range(32)), bytes(range(1, 33)), bytes(range(2, 34))
    challenges.issue(early, "sign_in", None)
    challenges.issue(late, "sign_in", None)
    challenges.issue(custom, "sign_in", None, lifetime=timedelta(seconds=30))

    clock.advance(seconds=31)
    assert challenges.consume(custom, "sign_in") == (False, None)
    clock.advance(minutes=4, seconds=28)
    assert challenges.consume(early, "sign_in") == (True, None)
    clock.advance(seconds=1)
    assert challenges.consume(late, "sign_in") == (False, None)
    assert rows(database) == []


def test_purge_forgets_only_expired_challenges(challenges, clock, database):
    challenges.issue(bytes(range(32)), "sign_in", None)
    clock.advance(minutes=3)
    challenges.issue(bytes(range(1, 33)), "registration", ACCOUNT)
    clock.advance(minutes=2, seconds=1)

    assert challenges.purge() == 1
    assert [row["purpose"] for row in rows(database)] == ["registration"]
    assert challenges.purge() == 0


def test_two_requests_racing_with_one_challenge_get_it_once(challenges):
    for attempt in range(10):
        challenge = bytes([attempt]) * 32
        challenges.issue(challenge, "sign_in", None)
        with ThreadPoolExecutor(max_workers=4) as pool:
            answers = list(pool.map(challenges.consume, [challenge] * 4, ["sign_in"] * 4))
        assert sorted(answers, key=lambda a: a[0]) == [(False, None)] * 3 + [(True, None)]


def test_the_table_holds_no_challenge_in_any_encoding(challenges, database):
    issued = [bytes([n]) * 8 + bytes(range(24)) for n in range(3)]
    for challenge in issued:
        challenges.issue(challenge, "registration", ACCOUNT)

    text = "\n".join(str(value) for row in rows(database) for value in row.values()).lower()
    for challenge in issued:
        for encoded in (challenge.hex(), b64url(challenge), b64url(challenge).replace("-", "+")):
            assert encoded.lower() not in text
        assert challenge.decode("latin-1") not in text


def test_the_table_comes_with_migration_0005_and_leaves_with_its_downgrade(
    database, settings, challenges
):
    assert schema.current(database) == schema.head()
    challenges.issue(bytes(32), "sign_in", None)

    assert schema.downgrade(settings, "0004") == "0004"
    assert "webauthn_challenges" not in table_names(database)
    with schema_lock(settings):
        assert schema.migrate(settings, database) == "0004"
    assert "webauthn_challenges" in table_names(database) and rows(database) == []


# --- a passkey's life with the store -------------------------------------------------------


def test_a_passkey_registers_and_signs_in_through_the_store(challenges):
    ceremonies = WebAuthnCeremonies(RP_ID, "Espace Client", ORIGIN)
    authenticator = SoftAuthenticator(ORIGIN, RP_ID)

    options, challenge = ceremonies.registration_options(uuid.uuid4().bytes, "12345678", "H", [])
    challenges.issue(challenge, "registration", ACCOUNT)
    response = authenticator.create(options)
    said = ceremonies.challenge_of(response)
    assert said is not None
    ok, account = challenges.consume(said, "registration")
    assert (ok, account) == (True, ACCOUNT)
    passkey = ceremonies.verify_registration(response, said)

    options, challenge = ceremonies.authentication_options([])
    challenges.issue(challenge, "sign_in", None)
    response = authenticator.get(options)
    said = ceremonies.challenge_of(response)
    assert said is not None and challenges.consume(said, "sign_in") == (True, None)
    count = ceremonies.verify_authentication(response, said, passkey.public_key, 0)
    assert count == 1

    # The same response again: its challenge is spent before any signature is checked.
    replayed = authenticator.replay()
    assert challenges.consume(ceremonies.challenge_of(replayed), "sign_in") == (False, None)
    # A response to a challenge the server never issued names one the store does not know.
    forged = authenticator.get(options.replace(b64url(challenge), b64url(bytes(32))))
    assert challenges.consume(ceremonies.challenge_of(forged), "sign_in") == (False, None)
    with pytest.raises(PasskeyRefusedError):
        ceremonies.verify_authentication(forged, challenge, passkey.public_key, count)
