"""The guards raced for real (CONTRACT.md v1.1, "Concurrency of the guards"): bursts of
sign-ins and recoveries released at one instant against gunicorn (2 processes x 20 threads),
on SQLite and PostgreSQL, at the cheap bcrypt cost and at production's (12), where a check
lasts ~100 times longer and so does the window between reading the account and saving it.

Each test asserts the exact bound the rule states, counted in the events the race recorded on
the account's stream, in log order:
- a lockout counts exactly 5 wrong passwords in a row, then nothing: no failure is counted
  and nothing signs in while it lasts, right password or not;
- at most 3 wrong secret answers are counted in 24 h, and none of the right answers changes
  the e-mail once the third wrong one is recorded.
Before the guards were moved into the Account's commands (the state being saved), a burst of
40 counted 12 to 22 wrong passwords and signed in after AccountLocked (issue 15).
"""

from __future__ import annotations

import secrets
from uuid import UUID

import pytest

from tests.helpers import HELENE, OTHER, open_account
from tests.races import Command, api_server, call, fire

COSTS = [pytest.param("4", id="cost4"), pytest.param("12", id="cost12")]
ANSWER = "Saint-Étienne"
IDENTITY = {k: HELENE[k] for k in ("member_number", "last_name", "first_name", "birth_date")}


def account_events(services, identifier: str, after: int) -> list[tuple[str, object]]:
    """(type, event) of the account's stream recorded after position `after`, in log order."""
    account_id = services.use_cases.support.account_for_support(identifier).id
    lifecycle = services.lifecycle
    return [
        (n.topic.rpartition(".")[2], lifecycle.mapper.to_domain_event(n))
        for n in lifecycle.recorder.select_notifications(start=after + 1, limit=100_000)
        if UUID(str(n.originator_id)) == account_id
    ]


def shuffled(commands: list[Command]) -> list[Command]:
    secrets.SystemRandom().shuffle(commands)
    return commands


@pytest.mark.parametrize("cost", COSTS)
def test_a_burst_of_wrong_passwords_counts_five_then_locks_and_nothing_signs_in_while_locked(
    tmp_path, database_url, client, services, cost
):
    member = open_account(client, services)

    def signing_in(password: str) -> Command:
        body = {"identifier": member.identifier, "password": password}
        return Command("sign_in", "POST", "/api/v1/sessions", body, "")

    # 36 wrong among 40: whatever the order, some 5 of them come in a row, so it locks.
    wrong = [signing_in(f"Faux mot de passe {n}") for n in range(36)]
    right = [signing_in(OTHER) for _ in range(4)]
    with api_server(tmp_path, database_url, workers=2, threads=20,
                    ACCOUNTS_BCRYPT_ROUNDS=cost) as (_, port):
        # The member's own password, hashed at this cost by the service itself.
        opened = call(port, signing_in(member.password))
        changed = call(port, Command("password", "PUT", "/api/v1/me/password", {
            "current_password": member.password, "new_password": OTHER,
        }, opened.body["token"]))
        assert changed.status == 204, changed.body
        head = services.lifecycle.recorder.max_notification_id()
        answers = fire(port, shuffled(wrong + right))

    # 409 `conflict`: a save that lost the race MAX_ATTEMPTS times (retry later), recorded nothing.
    assert {a.status for a in answers} <= {201, 401, 409}, [a.body for a in answers]
    events = [t for t, _ in account_events(services, member.identifier, head)]
    lock = events.index("AccountLocked")
    last_success = max((i for i, t in enumerate(events[:lock]) if t == "SignedIn"), default=-1)
    counted_before_lock = events[last_success + 1:lock].count("SignInFailed")
    after_lock = events[lock + 1:]
    print(f"cost {cost}: {events.count('SignInFailed')} wrong passwords counted in all, "
          f"{counted_before_lock} in the row that locked, {events.count('SignedIn')} sign-ins, "
          f"after the lock: {after_lock.count('SignInFailed')} counted, "
          f"{after_lock.count('SignedIn')} signed in")
    assert counted_before_lock == 5
    assert events.count("AccountLocked") == 1
    assert after_lock.count("SignInFailed") == 0
    assert after_lock.count("SignedIn") == 0
    assert sum(a.status == 201 for a in answers) == events.count("SignedIn")


@pytest.mark.parametrize("cost", COSTS)
def test_a_burst_of_secret_answers_counts_three_wrong_and_changes_no_email_after(
    tmp_path, database_url, client, services, cost
):
    member = open_account(client, services, secret_question="Ville natale ?",
                          secret_answer=ANSWER)

    def recovery(n: int, answer: str) -> Command:
        body = {**IDENTITY, "new_email": f"adresse{n}@example.org", "secret_answer": answer}
        return Command("recovery", "POST", "/api/v1/recoveries", body, "")

    commands = [recovery(n, f"Ville {n}") for n in range(22)]
    commands += [recovery(100 + n, "saint-étienne") for n in range(8)]  # case, accents
    with api_server(tmp_path, database_url, workers=2, threads=20,
                    ACCOUNTS_BCRYPT_ROUNDS=cost) as (_, port):
        head = services.lifecycle.recorder.max_notification_id()
        answers = fire(port, shuffled(commands))

    # Always the same answer, even for a request that a burst kept from being recorded.
    assert {a.status for a in answers} == {202}, [a.body for a in answers]
    events = account_events(services, member.identifier, head)
    outcomes = [e.outcome for t, e in events if t == "RecoveryRequested"]
    wrong_positions = [i for i, (t, e) in enumerate(events)
                       if t == "RecoveryRequested" and e.outcome == "wrong_secret_answer"]
    changes = [i for i, (t, e) in enumerate(events)
               if t == "EmailChanged" and e.reason == "recovery"]
    print(f"cost {cost}: outcomes {sorted(outcomes)}; e-mail changes at {changes}, "
          f"wrong answers counted at {wrong_positions}")
    assert 3 <= len(outcomes) <= 30
    assert len(wrong_positions) == 3
    assert [i for i in changes if i > wrong_positions[-1]] == []
    assert outcomes.count("email_changed") == len(changes)
