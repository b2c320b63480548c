"""The e-mail guards raced for real (CONTRACT.md v1.1, "Concurrency of the guards": "the e-mail
caps and single-use codes hold the same way"): bursts released at one instant against gunicorn
(2 processes x 20 threads, each process with its own mail workers), on SQLite and PostgreSQL,
at the cheap bcrypt cost and at production's (12).

Each test asserts the exact bound the rule states, in the account's events (log order) and in
the e-mails the workers wrote to the mail directory:
- registration retries and recoveries share a cap of 3 credentials e-mails per 24 h, the first
  included: a burst after the registration's e-mail sends exactly 2 more;
- a verification code changes the e-mail once, and one notice goes to the old address; a newer
  change request cancels the older code at once, whichever of the two is saved first;
- a new temporary password cancels the older one at once: no sign-in with the older one is
  recorded after the new one is issued.
Rate limits are off: they key on the client address alone (adapters/http/limits.py; the
service does not read X-Forwarded-For, so more addresses cannot be played from here), and the
per-account rules must hold whatever they say.
"""

from __future__ import annotations

import itertools
import re
import secrets
import time
from pathlib import Path

import pytest

from tests.helpers import (
    HELENE,
    IDENTITY,
    OTHER,
    Member,
    bearer,
    drain,
    open_account,
    wait_for,
)
from tests.races import (
    Command,
    api_server,
    call,
    fire,
    fire_staggered,
    hammered,
    mail_files,
    mail_settled,
    stream_events,
)

COSTS = [pytest.param("4", id="cost4"), pytest.param("12", id="cost12")]
CAP = 3  # credentials e-mails per account per 24 h, the registration's included
TEMPORARY = re.compile(r"^Mot de passe temporaire : ([A-Za-z0-9]{10})$", re.M)
IDENTIFIER = re.compile(r"^Identifiant : (\d{8})$", re.M)
CODE = re.compile(r"^Code de vérification : ([0-9A-Z]{16})$", re.M)
NOTICE = "Ce message est envoyé à votre ancienne adresse"


def shuffled(commands: list[Command]) -> list[Command]:
    secrets.SystemRandom().shuffle(commands)
    return commands


def recovery() -> Command:
    return Command("recovery", "POST", "/api/v1/recoveries", dict(IDENTITY), "")


def credentials_mails(directory: Path) -> list[tuple[str, str, str]]:
    """(recipient, identifier, temporary password) of every credentials e-mail, oldest first."""
    return [
        (to, IDENTIFIER.search(body).group(1), TEMPORARY.search(body).group(1))
        for to, body in mail_files(directory) if TEMPORARY.search(body)
    ]


def codes_to(directory: Path, address: str) -> list[str]:
    return [CODE.search(body).group(1) for to, body in mail_files(directory)
            if to == address and CODE.search(body)]


def notices_to(directory: Path, address: str) -> int:
    return sum(1 for to, body in mail_files(directory) if to == address and NOTICE in body)


def registered(client, services) -> tuple[str, str]:
    """An interrupted registration: accepted, its credentials e-mailed, never signed into."""
    response = client.post("/api/v1/registrations", json=HELENE)
    assert response.json["status"] == "accepted", response.json
    drain(services)
    [(to, identifier, temporary)] = credentials_mails(services.settings.mail.directory)
    assert to == HELENE["email"]
    return identifier, temporary


@pytest.mark.parametrize("cost", COSTS)
def test_a_burst_of_recoveries_and_registration_retries_sends_exactly_the_capped_three(
    tmp_path, database_url, client, services, cost
):
    identifier, _ = registered(client, services)
    account_id = services.use_cases.support.account_for_support(identifier).id
    retry = Command("registration", "POST", "/api/v1/registrations", dict(HELENE), "")
    commands = [recovery() for _ in range(30)] + [retry for _ in range(10)]
    with api_server(tmp_path, database_url, workers=2, threads=20,
                    ACCOUNTS_BCRYPT_ROUNDS=cost) as (_, port):
        answers = fire(port, shuffled(commands))
        mail_settled(services, account_id)

    events = stream_events(services, identifier)
    requested = [e.reason for _, t, e in events if t == "CredentialsRequested"]
    issued = [e.request_id for _, t, e in events if t == "TempPasswordIssued"]
    sent = [e.request_id for _, t, e in events if t == "CredentialsEmailSent"]
    outcomes = [e.outcome for _, t, e in events if t == "RecoveryRequested"]
    mails = credentials_mails(services.settings.mail.directory)
    retries = [a for a in answers if a.command.kind == "registration"]
    print(f"cost {cost}: requested {requested}; issued {len(issued)}, sent {len(sent)}, "
          f"{len(mails)} credentials e-mails; {len(outcomes)} of 30 recoveries recorded, "
          f"{outcomes.count('capped')} capped; retries: "
          f"{sum(a.status == 201 for a in retries)} x 201, "
          f"{sum(a.status == 429 for a in retries)} x 429")
    assert {a.status for a in answers if a.command.kind == "recovery"} == {202}
    # 409 `conflict`: a retry that lost the race MAX_ATTEMPTS times; it recorded nothing.
    assert {(a.status, a.code) for a in retries} <= {
        (201, None), (429, "rate_limited"), (409, "conflict")}
    assert len(requested) == CAP  # the registration's, and 2 of the burst's 40
    assert len(issued) == len(sent) == CAP
    assert len(mails) == CAP
    assert {(to, who) for to, who, _ in mails} == {(HELENE["email"], identifier)}
    assert outcomes.count("credentials_sent") == requested.count("recovery")
    assert sum(a.status == 201 for a in retries) == requested.count("registration_retry")


def email_change(member, new_email: str) -> Command:
    body = {"new_email": new_email, "password": member.password}
    return Command("email", "POST", "/api/v1/me/email", body,
                   member.headers["Authorization"].removeprefix("Bearer "))


def verification(code: str) -> Command:
    return Command("verify", "POST", "/api/v1/email-verifications", {"token": code}, "")


def hashed_by_the_service(port: int, member: Member) -> Member:
    """The member's own password set again through the service, so hashed at its cost."""
    opened = call(port, Command("sign_in", "POST", "/api/v1/sessions", {
        "identifier": member.identifier, "password": member.password}, ""))
    assert opened.status == 201, opened.body
    token = opened.body["token"]
    changed = call(port, Command("password", "PUT", "/api/v1/me/password", {
        "current_password": member.password, "new_password": OTHER}, token))
    assert changed.status == 204, changed.body
    return Member(member.identifier, OTHER, bearer(token))


def wait_for_code(directory: Path, address: str) -> str:
    wait_for(lambda: codes_to(directory, address), 30, f"the code sent to {address}")
    [code] = codes_to(directory, address)
    return code


def test_a_burst_of_verifications_with_one_code_changes_the_email_once(
    tmp_path, database_url, client, services
):
    member = open_account(client, services)
    account_id = services.use_cases.support.account_for_support(member.identifier).id
    mail = services.settings.mail.directory
    new = "helene.nouvelle@example.org"
    with api_server(tmp_path, database_url, workers=2, threads=20) as (_, port):
        assert call(port, email_change(member, new)).status == 202
        code = wait_for_code(mail, new)
        head = services.lifecycle.recorder.max_notification_id()
        # The same code as typed, and as pasted from the e-mail with white space around it.
        codes = [code] * 30 + [f"  {code}\n"] * 10
        answers = fire(port, shuffled([verification(c) for c in codes]))
        mail_settled(services, account_id)

    events = stream_events(services, member.identifier, head)
    changes = [(e.old, e.new, e.reason) for _, t, e in events if t == "EmailChanged"]
    statuses = sorted(a.status for a in answers)
    print(f"{statuses.count(200)} x 200, {statuses.count(404)} x 404; changes {changes}; "
          f"notices to the old address {notices_to(mail, HELENE['email'])}")
    assert statuses == [200] + [404] * 39
    assert [a.body for a in answers if a.status == 200] == [{"email": new}]
    assert {a.code for a in answers if a.status == 404} == {"not_found"}
    assert changes == [(HELENE["email"], new, "member")]
    assert notices_to(mail, HELENE["email"]) == 1
    assert services.use_cases.support.account_for_support(member.identifier).email == new


@pytest.mark.parametrize("cost", COSTS)
def test_a_newer_email_change_cancels_the_older_code_whichever_is_saved_first(
    tmp_path, database_url, client, services, cost
):
    """Rounds of one change request racing the previous request's code (20 verifications
    spread over the request's password check): either a verification is saved first (one 200,
    the e-mail changed before the new request) or the request is (every verification 404,
    nothing changed); in both, the old code never works afterwards and the new one does."""
    member = open_account(client, services)
    account_id = services.use_cases.support.account_for_support(member.identifier).id
    mail = services.settings.mail.directory
    addresses = [f"adresse{n}@example.org" for n in range(7)]
    # The verifications start later in each round, from the request's own start to well after
    # its password check (about 2 ms at cost 4, 250 ms at cost 12), and spread over 40 ms.
    scale = 1 if cost == "4" else 10
    starts = [s * scale for s in (0.0, 0.002, 0.005, 0.01, 0.03, 0.1)]
    outcomes = []
    with api_server(tmp_path, database_url, workers=2, threads=20,
                    ACCOUNTS_BCRYPT_ROUNDS=cost) as (_, port):
        member = hashed_by_the_service(port, member)
        assert call(port, email_change(member, addresses[0])).status == 202
        for (older, newer), start in zip(itertools.pairwise(addresses), starts, strict=True):
            code = wait_for_code(mail, older)
            email_before = services.lifecycle.account(account_id).email
            head = services.lifecycle.recorder.max_notification_id()
            commands = [email_change(member, newer)] + [verification(code)] * 20
            delays = [0.0] + [start + n * 0.002 for n in range(20)]
            answers = fire_staggered(port, commands, delays)
            assert answers[0].status == 202, answers[0].body
            mail_settled(services, account_id)
            late = call(port, verification(code))  # the older code, once the race is over

            events = stream_events(services, member.identifier, head)
            ok = [a for a in answers[1:] if a.status == 200]
            assert {a.status for a in answers[1:]} <= {200, 404}
            changed = [p for p, t, e in events if t == "EmailChanged"]
            [requested] = [p for p, t, e in events if t == "EmailChangeRequested"]
            email_after = services.lifecycle.account(account_id).email
            outcomes.append("verified first" if ok else "request first")
            assert late.status == 404
            if ok:
                assert [a.body for a in ok] == [{"email": older}]
                assert len(changed) == 1 and changed[0] < requested
                assert email_after == older
                assert notices_to(mail, email_before) == 1
            else:
                assert changed == []
                assert email_after == email_before
                assert notices_to(mail, email_before) == 0
            pending = services.lifecycle.account(account_id).email_change
            assert pending is not None and pending.new_email == newer
        # The newest code still works, once.
        last = wait_for_code(mail, addresses[-1])
        assert call(port, verification(last)).body == {"email": addresses[-1]}
        assert call(port, verification(last)).status == 404
    print(f"cost {cost}: {outcomes}")


def first_event(services, identifier: str, after: int, kind: str, seconds: float) -> int:
    """The log position of the account's first `kind` event after `after`, once recorded."""
    deadline = time.monotonic() + seconds
    while True:
        found = [p for p, t, _ in stream_events(services, identifier, after) if t == kind]
        if found:
            return found[0]
        if time.monotonic() >= deadline:
            pytest.fail(f"no {kind} within {seconds:.0f} s")
        time.sleep(0.02)


@pytest.mark.parametrize("cost", COSTS)
def test_no_sign_in_with_the_older_temporary_password_is_recorded_after_the_newer_is_issued(
    tmp_path, database_url, client, services, cost
):
    """Sign-ins with the older temporary password go on, from 6 clients, before, during and
    after a recovery: its worker must still draw the new password while they go on (the
    e-mail is due within 10 minutes, the cancellation is "at once"), and from that event on
    no sign-in with the older one is recorded. At cost 4 the clients save some 60 sign-ins a
    second on the one account: the recovery's save and the worker's lose many races in a row
    and must try again after a pause (`patient`) rather than give up."""
    identifier, _ = registered(client, services)
    account_id = services.use_cases.support.account_for_support(identifier).id
    mail = services.settings.mail.directory
    linger = 0.5 if cost == "4" else 1.5  # sign-ins go on this long after the new password
    with api_server(tmp_path, database_url, workers=2, threads=20,
                    ACCOUNTS_BCRYPT_ROUNDS=cost) as (_, port):
        # The older temporary password: drawn by the service, so hashed at its cost.
        assert call(port, recovery()).status == 202
        mail_settled(services, account_id)
        older = credentials_mails(mail)[-1][2]
        signing_in = Command("sign_in", "POST", "/api/v1/sessions",
                             {"identifier": identifier, "password": older}, "")
        head = services.lifecycle.recorder.max_notification_id()
        with hammered(port, signing_in, threads=6) as answers:
            time.sleep(linger)
            recovered = call(port, recovery())
            answered_at = time.monotonic()
            # Recorded before it answered; then its worker draws the new password.
            first_event(services, identifier, head, "CredentialsRequested", 0)
            cancelling = first_event(services, identifier, head, "TempPasswordIssued", 30)
            issued_after = time.monotonic() - answered_at
            time.sleep(linger)
        mail_settled(services, account_id)
        late = call(port, signing_in)

    events = stream_events(services, identifier, head)
    [requested] = [p for p, t, e in events if t == "CredentialsRequested"]
    sign_ins = [p for p, t, e in events if t == "SignedIn"]
    assert all(e.with_temporary for _, t, e in events if t == "SignedIn")
    before = [p for p in sign_ins if p < requested]
    between = [p for p in sign_ins if requested < p < cancelling]
    after = [p for p in sign_ins if p > cancelling]
    answered = sorted(a.status for a in answers)
    print(f"cost {cost}: new password drawn {issued_after:.2f} s after the recovery's answer; "
          f"sign-ins recorded with the older one: {len(before)} before the request, "
          f"{len(between)} between it and the new password, {len(after)} after; answers "
          f"{answered.count(201)} x 201, {answered.count(401)} x 401, "
          f"{answered.count(409)} x 409")
    # 409 `conflict`: a sign-in that lost the race MAX_ATTEMPTS times; it recorded nothing.
    assert recovered.status == 202
    assert set(answered) <= {201, 401, 409}
    assert after == []
    assert answered.count(201) == len(sign_ins)
    assert late.status == 401
    assert credentials_mails(mail)[-1][2] != older
