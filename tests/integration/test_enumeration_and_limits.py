"""What an outsider can learn, and how fast they may ask.

Enumeration: sign-in and recovery answer an existing member and an unknown one with the same
status and body, in comparable time (bcrypt at cost 10 dominates, as in production).
Rate limits: ACCOUNTS_RATE_LIMITS per client address, 429 `rate_limited` with `Retry-After`,
off when `off`, and shared between processes through Redis.
"""

from __future__ import annotations

import re
import statistics
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from app import create_app
from tests.helpers import DEMO_CSV, FakeClock, drain, make_settings, read_mail, text_of

# Production-like bcrypt cost, so that the hashing work dominates each timed request.
TIMED_BCRYPT_ROUNDS = "10"
# The slower of two medians may be at most this many times the faster one.
MAX_MEDIAN_RATIO = 2.0
ATTEMPTS = 15
# Wrong sign-ins in a row before a right one resets the count (the fifth would lock).
FAILURES_BEFORE_RESET = 4
LIMITS = "sessions=3/minute,recoveries=2/minute,registrations=2/minute,support-requests=10/minute"

IDENTIFIER = re.compile(r"^Identifiant : (\d{8})\r?$", re.M)
PASSWORD = re.compile(r"^Mot de passe temporaire : ([A-Za-z0-9]{10})\r?$", re.M)
OWN_PASSWORD = "plume orageuse sur 47 kilomètres"
SECRET_QUESTION = "Nom de mon premier chat ?"
SECRET_ANSWER = "Grisouille des Bois"

HELENE = {
    "member_number": "M1000001", "last_name": "Dupré-Lefèvre", "first_name": "Hélène",
    "birth_date": "1978-04-12", "email": "helene@example.org",
}
AMINATA = {
    "member_number": "M1000005", "last_name": "N'Diaye", "first_name": "Aminata",
    "birth_date": "1985-06-03", "email": "aminata@example.org",
    "secret_question": SECRET_QUESTION, "secret_answer": SECRET_ANSWER,
}
UNKNOWN_MEMBER = {  # no directory entry with this member number
    "member_number": "M9999999", "last_name": "Inconnu", "first_name": "Personne",
    "birth_date": "1980-01-01",
}
IDENTITY_FIELDS = ("member_number", "last_name", "first_name", "birth_date")


def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'accounts.sqlite3'}"


@pytest.fixture
def timed_app(tmp_path: Path, clock: FakeClock) -> Iterator[Any]:
    settings = make_settings(
        tmp_path, sqlite_url(tmp_path), ACCOUNTS_BCRYPT_ROUNDS=TIMED_BCRYPT_ROUNDS
    )
    app = create_app(settings, clock=clock)
    services = app.extensions["accounts"]
    try:
        services.directory.import_csv(DEMO_CSV.read_text(encoding="utf-8"))
        yield app
    finally:
        services.close()


def open_account(app: Any, member: dict[str, str]) -> str:
    """Register `member`, sign in with the e-mailed password and set an own one: the identifier."""
    client = app.test_client()
    services = app.extensions["accounts"]
    registered = client.post("/api/v1/registrations", json=member)
    assert registered.status_code == 201 and registered.json["status"] == "accepted"
    drain(services)
    [message] = [
        m for m in read_mail(services.settings.mail.directory) if m["To"] == member["email"]
    ]
    body = text_of(message)
    identifier, temporary = IDENTIFIER.search(body).group(1), PASSWORD.search(body).group(1)
    opened = client.post(
        "/api/v1/sessions", json={"identifier": identifier, "password": temporary}
    )
    assert opened.status_code == 201
    changed = client.put(
        "/api/v1/me/password",
        json={"current_password": temporary, "new_password": OWN_PASSWORD},
        headers={"Authorization": f"Bearer {opened.json['token']}"},
    )
    assert changed.status_code == 204, changed.json
    return identifier


def answer_of(response: Any) -> tuple[int, Any, list[tuple[str, str]]]:
    """Everything a client sees but the date and the request's own id (fresh per request)."""
    headers = sorted(
        (k, v) for k, v in response.headers.items() if k not in ("Date", "X-Request-ID")
    )
    return response.status_code, response.get_json(), headers


def compare_timings(
    label: str,
    existing: Callable[[], Any],
    unknown: Callable[[], Any],
    between: Callable[[], None],
) -> None:
    """Interleave the two requests (alternating which goes first), then compare answers and
    median latencies. `between` runs untimed after each pair (resets, queue drains)."""
    answers: dict[str, set[Any]] = {"existing": set(), "unknown": set()}
    times: dict[str, list[float]] = {"existing": [], "unknown": []}
    calls = {"existing": existing, "unknown": unknown}

    def timed(name: str) -> None:
        start = time.perf_counter()
        response = calls[name]()
        times[name].append(time.perf_counter() - start)
        status, body, headers = answer_of(response)
        answers[name].add((status, repr(body), repr(headers)))

    for call in calls.values():  # warm-up, untimed: first-request costs are nobody's signal
        call()
        between()
    for attempt in range(ATTEMPTS):
        order = ("existing", "unknown") if attempt % 2 == 0 else ("unknown", "existing")
        for name in order:
            timed(name)
        between()

    assert len(answers["existing"]) == 1, answers["existing"]
    assert answers["existing"] == answers["unknown"]
    medians = {name: statistics.median(values) for name, values in times.items()}
    ratio = max(medians.values()) / min(medians.values())
    print(
        f"\n{label}: median existing {medians['existing'] * 1000:.1f} ms,"
        f" unknown {medians['unknown'] * 1000:.1f} ms, ratio {ratio:.2f}"
        f" (limit {MAX_MEDIAN_RATIO})"
    )
    assert ratio <= MAX_MEDIAN_RATIO, (label, medians)


# Enumeration.


def test_a_wrong_password_and_an_unknown_identifier_answer_alike_in_comparable_time(
    timed_app: Any,
) -> None:
    identifier = open_account(timed_app, HELENE)
    unknown_identifier = f"{(int(identifier) + 1) % 10**8:08d}"
    client = timed_app.test_client()
    failures = 0

    def wrong_password() -> Any:
        nonlocal failures
        failures += 1
        return client.post(
            "/api/v1/sessions", json={"identifier": identifier, "password": "pas le bon mot"}
        )

    def unknown() -> Any:
        return client.post(
            "/api/v1/sessions",
            json={"identifier": unknown_identifier, "password": "pas le bon mot"},
        )

    def reset_before_lockout() -> None:
        nonlocal failures
        if failures >= FAILURES_BEFORE_RESET:
            right = client.post(
                "/api/v1/sessions", json={"identifier": identifier, "password": OWN_PASSWORD}
            )
            assert right.status_code == 201, "the account locked: the timing would be unfair"
            failures = 0

    compare_timings("sign-in", wrong_password, unknown, reset_before_lockout)
    wrong = wrong_password()
    assert wrong.status_code == 401 and wrong.json["code"] == "invalid_credentials"



@pytest.mark.parametrize(
    "with_answer",
    [
        pytest.param(
            False, id="identity"
        ),
        pytest.param(True, id="identity+answer"),
    ],
)
def test_a_recovery_for_a_member_and_for_an_unknown_person_answer_alike_in_comparable_time(
    timed_app: Any, clock: FakeClock, with_answer: bool
) -> None:
    open_account(timed_app, AMINATA)
    services = timed_app.extensions["accounts"]
    client = timed_app.test_client()
    identity = {field: AMINATA[field] for field in IDENTITY_FIELDS}
    sent = 0

    def extra() -> dict[str, str]:
        # A new address each time, so that every matching request really changes the e-mail.
        if not with_answer:
            return {}
        return {"new_email": f"aminata.{sent}@example.org", "secret_answer": SECRET_ANSWER}

    def existing() -> Any:
        nonlocal sent
        sent += 1
        return client.post("/api/v1/recoveries", json={**identity, **extra()})

    def unknown() -> Any:
        return client.post("/api/v1/recoveries", json={**UNKNOWN_MEMBER, **extra()})

    def settle() -> None:
        # The e-mails go out untimed; a day later the cap of 3 per 24 h is not in the way.
        drain(services)
        clock.advance(hours=25)

    label = "recovery with new_email+secret_answer" if with_answer else "recovery"
    compare_timings(label, existing, unknown, settle)

    # Controls: the matching requests did what they say, the unknown ones nothing.
    drain(services)
    messages = read_mail(services.settings.mail.directory)
    to_member = [m for m in messages if IDENTIFIER.search(text_of(m))]
    assert len(to_member) == 1 + sent  # registration + every matching recovery
    if with_answer:
        assert to_member[-1]["To"] == f"aminata.{sent}@example.org"


# Rate limits.


@pytest.fixture
def limited_app(tmp_path: Path) -> Iterator[Any]:
    app = create_app(make_settings(tmp_path, sqlite_url(tmp_path), ACCOUNTS_RATE_LIMITS=LIMITS))
    services = app.extensions["accounts"]
    try:
        services.directory.import_csv(DEMO_CSV.read_text(encoding="utf-8"))
        yield app
    finally:
        services.close()


SIGN_IN = ("/api/v1/sessions", {"identifier": "12345678", "password": "nimporte quoi"})
RECOVERY = ("/api/v1/recoveries", {field: HELENE[field] for field in IDENTITY_FIELDS})
REGISTRATION = ("/api/v1/registrations", {**UNKNOWN_MEMBER, "email": "x@example.org"})


def assert_rate_limited(response: Any) -> None:
    assert response.status_code == 429, response.get_data(as_text=True)
    assert response.json == {
        "code": "rate_limited",
        "message": "Trop de tentatives. Veuillez réessayer plus tard.",
    }
    retry_after = response.headers.get("Retry-After", "")
    assert re.fullmatch(r"[1-9][0-9]*", retry_after), retry_after
    assert int(retry_after) <= 60


@pytest.mark.parametrize(
    ("endpoint", "allowed", "status"),
    [(SIGN_IN, 3, 401), (RECOVERY, 2, 202), (REGISTRATION, 2, 201)],
    ids=["sessions", "recoveries", "registrations"],
)
def test_past_its_limit_an_address_gets_429_with_retry_after_and_another_address_does_not(
    limited_app: Any, endpoint: tuple[str, dict[str, str]], allowed: int, status: int
) -> None:
    path, body = endpoint
    client = limited_app.test_client()
    for _ in range(allowed):
        assert client.post(path, json=body).status_code == status
    assert_rate_limited(client.post(path, json=body))
    other = limited_app.test_client()
    other.environ_base["REMOTE_ADDR"] = "192.0.2.7"
    assert other.post(path, json=body).status_code == status


def test_with_rate_limits_off_forty_attempts_from_one_address_are_never_429(
    tmp_path: Path,
) -> None:
    app = create_app(make_settings(tmp_path, sqlite_url(tmp_path), ACCOUNTS_RATE_LIMITS="off"))
    services = app.extensions["accounts"]
    try:
        services.directory.import_csv(DEMO_CSV.read_text(encoding="utf-8"))
        client = app.test_client()
        for path, body in (SIGN_IN, RECOVERY, REGISTRATION):
            statuses = {client.post(path, json=body).status_code for _ in range(40)}
            assert 429 not in statuses, (path, statuses)
    finally:
        services.close()


def test_two_instances_sharing_redis_share_the_counters(tmp_path: Path, redis_url: str) -> None:
    settings = make_settings(
        tmp_path, sqlite_url(tmp_path), ACCOUNTS_RATE_LIMITS=LIMITS, ACCOUNTS_REDIS_URL=redis_url
    )
    first = create_app(settings)
    try:
        second = create_app(settings)
        try:
            path, body = SIGN_IN
            one, two = first.test_client(), second.test_client()
            assert [c.post(path, json=body).status_code for c in (one, one, two)] == [401] * 3
            assert_rate_limited(two.post(path, json=body))
            assert_rate_limited(one.post(path, json=body))
        finally:
            second.extensions["accounts"].close()
    finally:
        first.extensions["accounts"].close()
