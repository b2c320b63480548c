"""Registration, credentials and sign-in through the use cases alone (in memory)."""

from __future__ import annotations

from datetime import date

import pytest

from domain.errors import InvalidCredentialsError, WeakPasswordError, WrongPasswordError
from domain.use_cases.views import RegistrationRequest
from tests.helpers import OWN


def test_an_eligible_member_whose_names_match_gets_an_account_and_credentials(world, helene):
    account, password = world.registered()
    assert account.email == "helene@example.org" and len(account.identifier) == 8
    assert sum(c.isdigit() for c in password) == 1 and len(password) == 10


def test_the_worker_draws_a_password_once_per_request(world):
    account, _ = world.registered()
    request_id = account.credentials_requests[-1].request_id
    assert world.cases.mail.issue_temporary_password(account.id, request_id) is None


@pytest.mark.parametrize(("changes", "reason"), [
    ({"member_number": "M1000003", "last_name": "Dupré-Lefèvre", "first_name": "Zoé",
      "birth_date": date(2009, 2, 17)}, "not_principal_member"),
    ({"member_number": "M1000012", "last_name": "Martin", "first_name": "Louise",
      "birth_date": date(1995, 5, 5)}, "not_eligible"),
    ({"birth_date": date(1978, 4, 13)}, "unknown_member"),
    ({"member_number": "M9999999"}, "unknown_member"),
])
def test_a_registration_is_refused_with_the_contracts_reason(world, helene, changes, reason):
    view = world.cases.registration.register(RegistrationRequest(**{**vars(helene), **changes}))
    assert (view.status, view.reason) == ("refused", reason)


def test_a_name_that_does_not_match_waits_for_support_and_a_repeat_answers_the_same(world, helene):
    other = RegistrationRequest(**{**vars(helene), "first_name": "Hélèna"})
    first = world.cases.registration.register(other)
    again = world.cases.registration.register(other)
    assert first.status == "identity_review"
    assert again.registration_id == first.registration_id


def test_the_same_idempotency_key_and_body_answer_as_the_first_time(world, helene):
    first = world.cases.registration.register(helene, idempotency=("k1", "digest"))
    again = world.cases.registration.register(helene, idempotency=("k1", "digest"))
    assert again == first


def test_a_sign_in_with_the_temporary_password_must_change_it(world):
    account, password = world.registered()
    opened = world.cases.sign_in.sign_in(account.identifier, password)
    assert opened.must_change_password
    world.cases.sign_in.change_password(account.id, password, OWN, session_digest=opened.token)
    assert not world.sessions.open_sessions[opened.token].temporary
    assert not world.cases.sign_in.sign_in(account.identifier, OWN).must_change_password


def test_a_password_change_ends_the_other_sessions_but_not_its_own(world):
    account, password = world.registered()
    other = world.cases.sign_in.sign_in(account.identifier, password)
    mine = world.cases.sign_in.sign_in(account.identifier, password)
    world.cases.sign_in.change_password(account.id, password, OWN, session_digest=mine.token)
    assert set(world.sessions.open_sessions) == {mine.token} and other.token != mine.token


def test_a_weak_new_password_is_refused_and_nothing_is_recorded(world):
    account, password = world.registered()
    version = world.store.account(account.id).version
    with pytest.raises(WeakPasswordError):
        world.cases.sign_in.change_password(account.id, password, "motdepasse1")
    assert world.store.account(account.id).version == version


def test_the_fifth_wrong_password_locks_the_account_for_15_minutes(world):
    account, password = world.registered()
    for _ in range(5):
        with pytest.raises(InvalidCredentialsError):
            world.cases.sign_in.sign_in(account.identifier, "wrong password")
    with pytest.raises(InvalidCredentialsError):
        world.cases.sign_in.sign_in(account.identifier, password)  # right, but locked
    world.clock.advance(minutes=15, seconds=1)
    assert world.cases.sign_in.sign_in(account.identifier, password).must_change_password


def test_a_wrong_confirming_password_counts_toward_the_lockout(world):
    account, _ = world.registered()
    with pytest.raises(WrongPasswordError):
        world.cases.recovery.request_email_change(account.id, "n@example.org", "wrong")
    assert world.store.account(account.id).failed_sign_ins == 1


def test_an_identifier_and_temporary_password_pasted_with_white_space_sign_in_uncounted(world):
    account, password = world.registered()
    opened = world.cases.sign_in.sign_in(f" {account.identifier}\t", f"{password} \n")
    assert opened.must_change_password
    assert world.store.account(account.id).failed_sign_ins == 0


def test_the_members_space_asks_for_the_beneficiaries_only_for_the_page_that_lists_them(world):
    account, _ = world.registered()
    space = world.cases.member_space
    asked: list[str] = []
    listed = space.directory.beneficiaries
    space.directory.beneficiaries = lambda number: asked.append(number) or listed(number)
    assert [b["first_name"] for b in space.me(account.id).beneficiaries] == [
        "Jean-François", "Zoé", "Noël"]
    assert asked == ["M1000001"]
    bare = space.me(account.id, beneficiaries=False)
    assert bare.beneficiaries == [] and bare.sections == space.me(account.id).sections
    assert asked == ["M1000001", "M1000001"]  # the bare view asked nothing
