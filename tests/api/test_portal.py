"""Portal views and the claims feed on SQLite and PostgreSQL (CONTRACT.md: "GET /api/v1/me",
"GET /api/v1/me/reimbursements", "Claims feed (role claims)", and in "Rules in detail" the
bullets "Claims feed" and "GET /me"; issue 5)."""

from __future__ import annotations

import csv
import threading
from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from tests.helpers import (
    DEMO_CSV,
    FEED,
    HELENE,
    LABEL,
    Inbox,
    Member,
    assert_error,
    credentials,
    days_ago,
    drain,
    event_types,
    feed_item,
    free_port,
    inbox,
    make_settings,
    open_account,
    put_alerts,
    recorded,
    register_member,
    session_bearer,
    settle,
    sign_in,
    text_of,
    wait_for,
)

HISTORY = "/api/v1/me/reimbursements"
DIRECTORY = {
    row["member_number"]: row for row in csv.DictReader(DEMO_CSV.open(encoding="utf-8"))
}
ALERT_SUBJECT = "Nouveau remboursement santé"
PARIS_SUMMER = timezone(timedelta(hours=2))


# Helpers.


def identity(number: str) -> dict[str, str]:
    row = DIRECTORY[number]
    return {k: row[k] for k in ("member_number", "last_name", "first_name", "birth_date")}


def open_member(client, services, number: str) -> Member:
    """The demo member registers, signs in and sets their own password."""
    if number == HELENE["member_number"]:
        return open_account(client, services)
    return open_account(
        client, services, **identity(number), email=f"{number.lower()}@example.org"
    )


def claims(services, name: str = "flux-sante") -> dict[str, str]:
    return bearer_of(services.staff_tokens.create(name, "claims"))


def bearer_of(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def post(client, headers, **changes: object):
    return client.post(FEED, json=feed_item(**changes), headers=headers)


def accepted(client, headers, **changes: object) -> str:
    response = post(client, headers, **changes)
    assert response.status_code == 202, response.json
    return response.json["reimbursement_id"]


def event_count(services) -> int:
    drain(services)
    return len(event_types(services))


def me(client, headers) -> dict:
    response = client.get("/api/v1/me", headers=headers)
    assert response.status_code == 200, response.json
    return response.json


def history(client, services, headers) -> dict[str, list[dict]]:
    """GET /me/reimbursements once the portal caught up: {contract_id: lines}."""
    settle(services)
    response = client.get(HISTORY, headers=headers)
    assert response.status_code == 200, response.json
    contracts = response.json["contracts"]
    ids = [c["contract_id"] for c in contracts]
    assert len(ids) == len(set(ids)), "each contract appears once"
    return {c["contract_id"]: c["reimbursements"] for c in contracts}


def shown_ids(client, services, headers) -> list[str]:
    return [
        line["reimbursement_id"]
        for lines in history(client, services, headers).values()
        for line in lines
    ]


def alerts(messages) -> list:
    return [m for m in messages if m["Subject"] == ALERT_SUBJECT]


# --- GET /api/v1/me: sections and beneficiaries ----------------------------------------------


@pytest.mark.parametrize(
    ("number", "sections"),
    [
        ("M1000007", {"health"}),
        ("M1000001", {"health", "points_statement"}),
        ("M1000008", {"points_statement"}),
        ("M1000009", {"retirement", "fiscal_certificate", "points_statement"}),
        ("M1000010", {"health", "retirement", "fiscal_certificate", "points_statement"}),
        ("M1000002", {"points_statement"}),
        ("M1000011", {"retirement", "fiscal_certificate", "points_statement"}),
    ],
    ids=[
        "health-principal", "health-principal-contributor", "contributor", "pensioner",
        "pensioner-with-health", "beneficiary-contributor", "beneficiary-pensioner",
    ],
)
def test_each_kind_of_member_sees_its_sections(client, services, number, sections):
    member = open_member(client, services, number)
    view = me(client, member.headers)
    assert len(view["sections"]) == len(set(view["sections"]))
    assert set(view["sections"]) == sections
    row = DIRECTORY[number]
    assert (view["first_name"], view["last_name"]) == (row["first_name"], row["last_name"])


def test_a_reimport_giving_a_pension_shows_retirement_at_once(client, services):
    member = open_member(client, services, "M1000008")
    assert set(me(client, member.headers)["sections"]) == {"points_statement"}
    row = {**DIRECTORY["M1000008"], "retirement": "pensioner"}
    header = list(row)
    text = ",".join(header) + "\n" + ",".join(row[k] for k in header) + "\n"
    assert services.directory.import_csv(text) == 1
    # The same session, no new sign-in.
    assert set(me(client, member.headers)["sections"]) == {
        "retirement", "fiscal_certificate", "points_statement",
    }


def test_a_principal_sees_the_beneficiaries_but_not_themself(client, services):
    member = open_member(client, services, "M1000001")
    listed = me(client, member.headers)["beneficiaries"]
    assert sorted(listed, key=lambda b: b["first_name"]) == [
        {"first_name": "Jean-François", "last_name": "Dupré-Lefèvre", "relation": "spouse"},
        {"first_name": "Noël", "last_name": "Dupré-Lefèvre", "relation": "child"},
        {"first_name": "Zoé", "last_name": "Dupré-Lefèvre", "relation": "child"},
    ]
    assert "Hélène" not in [b["first_name"] for b in listed]


def test_a_principal_of_two_contracts_sees_the_beneficiaries_of_both(client, services):
    member = open_member(client, services, "M1000014")
    listed = me(client, member.headers)["beneficiaries"]
    assert sorted(listed, key=lambda b: b["first_name"]) == [
        {"first_name": "Côme", "last_name": "Rousseau", "relation": "spouse"},
        {"first_name": "Thị Mai", "last_name": "Nguyễn", "relation": "spouse"},
    ]
    assert "Anaïs" not in [b["first_name"] for b in listed]


@pytest.mark.parametrize("number", ["M1000008", "M1000009"])
def test_a_member_without_a_health_contract_has_no_beneficiaries(client, services, number):
    member = open_member(client, services, number)
    assert me(client, member.headers)["beneficiaries"] == []


# --- POST /api/v1/internal/reimbursements -----------------------------------------------------


def test_an_accepted_reimbursement_answers_202_with_its_id(client, services):
    response = post(client, claims(services))
    assert (response.status_code, response.json) == (202, {"reimbursement_id": "R-2026-0001"})
    assert event_types(services).count("ReimbursementRecorded") == 1


def test_the_recorded_event_carries_the_claims_actor(client, services):
    accepted(client, claims(services), amount="25.4")
    [event] = recorded(services, "ReimbursementRecorded")
    assert event.actor == "claims:flux-sante"
    assert (event.member_number, event.principal_member_number) == ("M1000003", "M1000001")
    assert event.amount == "25.40"


def test_a_replayed_item_records_nothing_and_answers_202_again(client, services):
    headers = claims(services)
    item = feed_item()
    assert client.post(FEED, json=item, headers=headers).status_code == 202
    before = event_count(services)
    response = client.post(FEED, json=item, headers=headers)
    assert (response.status_code, response.json) == (202, {"reimbursement_id": "R-2026-0001"})
    assert event_count(services) == before


def test_a_replay_spelling_the_same_facts_otherwise_records_nothing(client, services):
    headers = claims(services)
    paid = days_ago(3)
    accepted(client, headers, paid_at=paid.isoformat(), amount="25.40")
    before = event_count(services)
    response = post(
        client, headers, paid_at=paid.astimezone(PARIS_SUMMER).isoformat(), amount="25.4"
    )
    assert response.status_code == 202, response.json
    assert event_count(services) == before


def test_the_same_id_with_another_amount_is_a_conflict(client, services):
    headers = claims(services)
    accepted(client, headers)
    before = event_count(services)
    assert_error(post(client, headers, amount="99.99"), 409, "conflict")
    assert event_count(services) == before
    [event] = recorded(services, "ReimbursementRecorded")
    assert event.amount == "25.40"


def test_copies_of_one_item_arriving_at_once_record_it_once(client, services):
    headers = claims(services)
    item = feed_item()
    start = threading.Barrier(4)
    answers: list = []

    def send() -> None:
        start.wait()
        answers.append(client.post(FEED, json=item, headers=headers))

    threads = [threading.Thread(target=send) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [r.status_code for r in answers] == [202] * 4, [r.json for r in answers]
    assert event_types(services).count("ReimbursementRecorded") == 1


@pytest.mark.parametrize(("amount", "status"), [("25.40", 202), ("99.99", 409)])
def test_an_item_recorded_by_another_request_meanwhile_is_a_replay_or_a_conflict(
    client, services, monkeypatch, amount, status
):
    """The other copy commits between this request's read and its save."""
    lifecycle = services.lifecycle
    read = lifecycle.get_or_none
    other_done: list[bool] = []
    headers = claims(services)

    def read_then_let_the_other_copy_commit(aggregate_id):
        found = read(aggregate_id)
        if found is None and not other_done:
            other_done.append(True)
            monkeypatch.setattr(lifecycle, "get_or_none", read)
            assert client.post(FEED, json=feed_item(), headers=headers).status_code == 202
            monkeypatch.setattr(lifecycle, "get_or_none", read_then_let_the_other_copy_commit)
        return found

    monkeypatch.setattr(lifecycle, "get_or_none", read_then_let_the_other_copy_commit)
    response = post(client, headers, amount=amount)
    assert other_done
    assert response.status_code == status, response.json
    if status == 409:
        assert response.json["code"] == "conflict"
    [event] = recorded(services, "ReimbursementRecorded")
    assert event.amount == "25.40"


def future_day() -> str:
    return (date.today() + timedelta(days=2)).isoformat()


def future_instant() -> str:
    return (datetime.now(UTC) + timedelta(hours=1)).isoformat()


def without_offset() -> str:
    return days_ago(3).replace(tzinfo=None).isoformat()


MISSING = object()


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("amount", "0"),
        ("amount", "-1"),
        ("amount", "1.234"),
        ("amount", "abc"),
        ("amount", 12.5),
        ("care_date", future_day),
        ("paid_at", future_instant),
        ("paid_at", without_offset),
        ("member_number", "M9999999"),
        ("contract_id", "SANTE-COL-042"),  # Aminata's contract, not Zoé's
        ("label", MISSING),
        ("commentaire", "un champ inconnu"),
    ],
    ids=[
        "amount-zero", "amount-negative", "amount-three-decimals", "amount-not-a-number",
        "amount-json-number", "care-date-future", "paid-at-future", "paid-at-without-offset",
        "unknown-member", "contract-not-covering", "missing-field", "unknown-field",
    ],
)
def test_an_invalid_item_is_a_validation_error_naming_the_field(client, services, field, value):
    item = feed_item()
    if value is MISSING:
        del item[field]
    else:
        item[field] = value() if callable(value) else value
    response = client.post(FEED, json=item, headers=claims(services))
    assert_error(response, 422, "validation_error")
    assert set(response.json["errors"]) == {field}
    assert event_types(services) == []


def member_token(client, services, temporary: bool) -> dict[str, str]:
    if temporary:
        identifier, password = register_member(client, services)
        return session_bearer(sign_in(client, identifier, password))
    return open_account(client, services).headers


@pytest.mark.parametrize(
    ("caller", "status", "code"),
    [
        ("nobody", 401, "authentication_required"),
        ("member", 403, "forbidden"),
        ("temporary-member", 403, "forbidden"),
        ("support", 403, "forbidden"),
        ("auditor", 403, "forbidden"),
    ],
)
def test_only_a_claims_token_may_post_to_the_feed(client, services, caller, status, code):
    if caller == "nobody":
        headers = {}
    elif caller in ("member", "temporary-member"):
        headers = member_token(client, services, caller == "temporary-member")
    else:
        headers = bearer_of(services.staff_tokens.create("mallory", caller))
    before = event_count(services)
    assert_error(post(client, headers), status, code)
    assert event_count(services) == before
    assert "ReimbursementRecorded" not in event_types(services)


# --- GET /api/v1/me/reimbursements ------------------------------------------------------------


def test_a_beneficiarys_reimbursement_shows_to_the_principal_with_the_name(client, services):
    member = open_member(client, services, "M1000001")
    paid = days_ago(3)
    care = days_ago(10).date()
    accepted(
        client, claims(services), paid_at=paid.isoformat(), care_date=care.isoformat()
    )
    contracts = history(client, services, member.headers)
    [line] = contracts["SANTE-IND-001"]
    assert list(contracts) == ["SANTE-IND-001"]
    assert line["reimbursement_id"] == "R-2026-0001"
    assert line["beneficiary"] == {"first_name": "Zoé", "last_name": "Dupré-Lefèvre"}
    assert (line["label"], line["amount"]) == (LABEL, "25.40")
    assert line["care_date"] == care.isoformat()
    assert datetime.fromisoformat(line["paid_at"]) == paid


def test_history_is_newest_first_by_paid_at(client, services):
    member = open_member(client, services, "M1000001")
    headers = claims(services)
    # Recorded in another order, with care dates in the opposite order to payment.
    for rid, paid, care, number in [
        ("R-MIDDLE", 20, 25, "M1000004"),
        ("R-NEWEST", 2, 40, "M1000001"),
        ("R-OLDEST", 200, 3, "M1000002"),
    ]:
        accepted(
            client, headers, reimbursement_id=rid, member_number=number,
            paid_at=days_ago(paid).isoformat(), care_date=days_ago(care).date().isoformat(),
        )
    lines = history(client, services, member.headers)["SANTE-IND-001"]
    assert [line["reimbursement_id"] for line in lines] == ["R-NEWEST", "R-MIDDLE", "R-OLDEST"]
    assert [line["beneficiary"]["first_name"] for line in lines] == [
        "Hélène", "Noël", "Jean-François",
    ]


def test_newest_first_compares_instants_not_their_written_offsets(client, services):
    member = open_member(client, services, "M1000001")
    headers = claims(services)
    base = days_ago(2).replace(hour=12, minute=0, second=0, microsecond=0)
    # 13:00 at +02:00 is 11:00 UTC: older than 12:30 UTC although its text sorts later.
    accepted(client, headers, reimbursement_id="R-OFFSET",
             paid_at=(base + timedelta(hours=1)).replace(tzinfo=PARIS_SUMMER).isoformat())
    accepted(client, headers, reimbursement_id="R-UTC",
             paid_at=(base + timedelta(minutes=30)).isoformat())
    assert shown_ids(client, services, member.headers) == ["R-UTC", "R-OFFSET"]


def test_history_is_grouped_by_contract_for_a_principal_of_two_contracts(client, services):
    member = open_member(client, services, "M1000014")
    headers = claims(services)
    for rid, number, contract, paid in [
        ("R-A", "M1000014", "SANTE-COL-100", 5),
        ("R-B", "M1000015", "SANTE-IND-015", 4),
        ("R-C", "M1000018", "SANTE-COL-100", 3),
        ("R-D", "M1000014", "SANTE-IND-015", 6),
    ]:
        accepted(
            client, headers, reimbursement_id=rid, member_number=number, contract_id=contract,
            paid_at=days_ago(paid).isoformat(),
        )
    contracts = history(client, services, member.headers)
    assert set(contracts) == {"SANTE-COL-100", "SANTE-IND-015"}
    collective = contracts["SANTE-COL-100"]
    assert [line["reimbursement_id"] for line in collective] == ["R-C", "R-A"]
    assert [line["beneficiary"] for line in collective] == [
        {"first_name": "Thị Mai", "last_name": "Nguyễn"},
        {"first_name": "Anaïs", "last_name": "Lefèbvre"},
    ]
    individual = contracts["SANTE-IND-015"]
    assert [line["reimbursement_id"] for line in individual] == ["R-B", "R-D"]
    assert individual[0]["beneficiary"] == {"first_name": "Côme", "last_name": "Rousseau"}


def test_the_12_month_window_includes_its_first_instant_and_not_a_second_before(
    client, services, clock
):
    member = open_member(client, services, "M1000001")
    headers = claims(services)
    edge = clock.now - timedelta(days=3)
    if (edge.month, edge.day) == (2, 29):
        edge -= timedelta(days=1)
    # Recorded in the past (the feed refuses the future), then the clock moves a year on.
    accepted(client, headers, reimbursement_id="R-EDGE",
             paid_at=edge.astimezone(PARIS_SUMMER).isoformat())
    accepted(client, headers, reimbursement_id="R-BEFORE",
             paid_at=(edge - timedelta(seconds=1)).isoformat())
    accepted(client, headers, reimbursement_id="R-INSIDE",
             paid_at=(edge + timedelta(days=1)).isoformat())
    delta = edge.replace(year=edge.year + 1) - clock.now
    clock.advance(days=delta.days, seconds=delta.seconds, microseconds=delta.microseconds)
    assert clock.now == edge.replace(year=edge.year + 1)  # exactly 12 months after the edge
    again = session_bearer(sign_in(client, member.identifier, member.password))
    assert shown_ids(client, services, again) == ["R-INSIDE", "R-EDGE"]
    clock.advance(seconds=1)
    assert shown_ids(client, services, again) == ["R-INSIDE"]


def test_history_without_the_health_section_is_section_unavailable(client, services):
    member = open_member(client, services, "M1000008")
    assert_error(client.get(HISTORY, headers=member.headers), 403, "section_unavailable")


def test_a_beneficiary_who_contributes_has_no_health_history(client, services):
    member = open_member(client, services, "M1000002")
    accepted(client, claims(services), member_number="M1000002")
    settle(services)
    assert_error(client.get(HISTORY, headers=member.headers), 403, "section_unavailable")


def test_a_reimbursement_recorded_before_the_account_shows_once_it_exists(client, services):
    headers = claims(services)
    accepted(client, headers, reimbursement_id="R-ZOE")
    accepted(client, headers, reimbursement_id="R-HELENE", member_number="M1000001",
             paid_at=days_ago(1).isoformat())
    settle(services)
    member = open_member(client, services, "M1000001")
    assert shown_ids(client, services, member.headers) == ["R-HELENE", "R-ZOE"]


def test_history_needs_a_member_session(client, services):
    assert_error(client.get(HISTORY), 401, "authentication_required")
    assert_error(client.get(HISTORY, headers=claims(services)), 403, "forbidden")


# --- Alerts -----------------------------------------------------------------------------------


def test_no_alert_email_while_alerts_are_off(client, services):
    member = open_member(client, services, "M1000001")
    assert me(client, member.headers)["alerts"] == {"reimbursements": False}
    accepted(client, claims(services))
    assert inbox(services) == []
    assert "ReimbursementAlertSent" not in event_types(services)


def test_a_subscribed_principal_gets_one_french_alert_with_no_other_personal_data(
    client, services
):
    member = open_member(client, services, "M1000001")
    assert put_alerts(client, member, True).status_code == 200
    care = days_ago(12).date()
    accepted(client, claims(services), care_date=care.isoformat(), amount="1234.5")
    [message] = inbox(services)
    assert message["To"] == HELENE["email"]
    assert message["Subject"] == ALERT_SUBJECT
    body = text_of(message)
    assert "Bonjour" in body and "remboursement" in body
    assert "1\u202f234,50\u00a0€" in body  # French spacing: narrow thousands, no-break before €
    assert care.strftime("%d/%m/%Y") in body
    assert "Zoé" in body
    html = message.get_body(("html",)).get_content()
    for private in ("Dupré", "Lefèvre", "M1000003", "M1000001", member.identifier, LABEL,
                    "Hélène", "2009"):
        assert private not in body, private
        assert private not in html, private
        assert private not in message["Subject"], private
    [sent] = recorded(services, "ReimbursementAlertSent")
    assert sent.actor == "system:alerts"


def test_a_replayed_feed_item_gives_no_second_alert(client, services):
    member = open_member(client, services, "M1000001")
    put_alerts(client, member, True)
    headers = claims(services)
    accepted(client, headers)
    assert len(alerts(inbox(services))) == 1
    accepted(client, headers)
    assert inbox(services) == []
    assert event_types(services).count("ReimbursementAlertSent") == 1


def test_the_alert_goes_to_the_principal_not_to_the_beneficiarys_own_account(
    client, services
):
    principal = open_member(client, services, "M1000001")
    beneficiary = open_member(client, services, "M1000002")
    put_alerts(client, principal, True)
    put_alerts(client, beneficiary, True)
    accepted(client, claims(services), member_number="M1000002")
    [message] = inbox(services)
    assert message["To"] == HELENE["email"]
    assert "Jean-François" in text_of(message)


def test_an_alert_is_sent_once_when_the_worker_has_to_retry(
    tmp_path, database_url, clock, monkeypatch
):
    from aiosmtpd.controller import Controller

    from app import create_app

    port = free_port()
    settings = make_settings(tmp_path, database_url, ACCOUNTS_MAIL_URL=f"smtp://127.0.0.1:{port}")
    flask_app = create_app(settings, clock=clock)
    services = flask_app.extensions["accounts"]
    services.directory.import_csv(DEMO_CSV.read_text(encoding="utf-8"))
    client = flask_app.test_client()
    received = Inbox()
    controller = Controller(received, hostname="127.0.0.1", port=port)
    controller.start()
    running = [controller]
    failures: list[str] = []
    real_send = services.mailer.send

    def send(message) -> None:
        try:
            real_send(message)
        except OSError as error:
            failures.append(f"{message['Subject']}: {type(error).__name__}")
            raise

    monkeypatch.setattr(services.mailer, "send", send)
    try:
        response = client.post("/api/v1/registrations", json=HELENE)
        assert response.json["status"] == "accepted"
        drain(services)
        identifier, temporary = credentials(received.messages[0])
        headers = session_bearer(sign_in(client, identifier, temporary))
        changed = client.put(
            "/api/v1/me/password",
            json={"current_password": temporary, "new_password": "Où sont passées les clés ?"},
            headers=headers,
        )
        assert changed.status_code == 204, changed.json
        drain(services)  # the password-change notice
        member = Member(identifier, "Où sont passées les clés ?",
                        session_bearer(sign_in(client, identifier, "Où sont passées les clés ?")))
        assert put_alerts(client, member, True).status_code == 200
        before = len(received.messages)

        running.pop().stop()  # the mail server goes away
        accepted(client, claims(services))
        wait_for(lambda: failures, 10, "a failed alert delivery")
        assert "ReimbursementAlertSent" not in event_types(services)
        assert len(received.messages) == before

        controller = Controller(received, hostname="127.0.0.1", port=port)
        controller.start()
        running.append(controller)
        wait_for(
            lambda: "ReimbursementAlertSent" in event_types(services), 60, "the retried alert"
        )
        drain(services)
        assert len(alerts(received.messages[before:])) == 1
        assert len(received.messages) == before + 1
        assert event_types(services).count("ReimbursementAlertSent") == 1
    finally:
        for server in running:
            server.stop()
        services.close()
