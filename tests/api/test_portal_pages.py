"""The member portal pages (CONTRACT.md v1.1) keep the API's rules: session timeouts and
revocations, the temporary password's restriction, the lockout, the API's errors for bad input
with nothing recorded, one registration per form, and the 503 page (the Browser and helpers
in page_browser.py serve test_portal_pages_security.py too)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import urlsplit

import psycopg
import pytest

from adapters.http.errors import MESSAGES
from tests.api.page_browser import (
    FORCED,
    FORM_ID,
    HTML,
    REGISTRATION_FORM,
    SIGN_IN,
    SPACE,
    WRONG,
    Browser,
    everything,
    pages_rules,
    stored,
    text,
    went_to,
)
from tests.helpers import (
    HELENE,
    OTHER,
    OWN_PASSWORD,
    PG_HOST,
    PG_PORT,
    PG_USER,
    drain,
    issued_credentials,
    recorded,
    sign_in,
)


def test_a_page_session_ends_after_30_idle_minutes(signed_in, clock):
    clock.advance(minutes=29, seconds=59)
    assert signed_in.get(SPACE).status_code == 200  # and the idle expiry moves on
    clock.advance(minutes=30, seconds=1)
    went_to(signed_in.get(SPACE), SIGN_IN)
    assert "Votre session a pris fin" in text(signed_in.get(SIGN_IN))


def test_a_busy_page_session_still_ends_12_hours_after_sign_in(signed_in, clock):
    for _ in range(24):  # 11 h 36 min, never idle 30 minutes
        clock.advance(minutes=29)
        assert signed_in.get(SPACE).status_code == 200
    clock.advance(minutes=23, seconds=59)  # 11 h 59 min 59 s
    assert signed_in.get(SPACE).status_code == 200
    clock.advance(seconds=2)
    went_to(signed_in.get(SPACE), SIGN_IN)


def test_signing_out_ends_the_server_session_for_every_copy_of_the_cookie(signed_in, app,
                                                                          services):
    copied = signed_in.client.get_cookie("session").value
    sessions = stored(services)[1]
    went_to(signed_in.post("/deconnexion", page=SPACE), SIGN_IN)
    assert stored(services)[1] == sessions - 1
    thief = Browser(app.test_client())
    thief.client.set_cookie("session", copied)
    went_to(thief.get(SPACE), SIGN_IN)


def test_a_password_change_ends_the_other_sessions_page_or_api(signed_in, client, member):
    changed = signed_in.post("/mon-espace/infos/mot-de-passe", page="/mon-espace/infos",
                             current_password=member.password, new_password=OTHER)
    went_to(changed, "/mon-espace/infos")
    assert client.get("/api/v1/me", headers=member.headers).status_code == 401
    assert signed_in.get(SPACE).status_code == 200  # the page's own session stays
    api = {"Authorization": f"Bearer {sign_in(client, member.identifier, OTHER).json['token']}"}
    assert client.put("/api/v1/me/password", headers=api, json={
        "current_password": OTHER, "new_password": OWN_PASSWORD}).status_code == 204
    went_to(signed_in.get(SPACE), SIGN_IN)


def test_an_accepted_closure_ends_the_page_session(signed_in, client, services, member):
    sent = signed_in.post("/mon-espace/fermeture", password=member.password)
    assert sent.status_code == 200 and "Demande de fermeture transmise" in text(sent)
    [asked] = recorded(services, "ClosureRequested")
    request_id = asked.request_id
    assert f"<code>{request_id.hex[:8].upper()}</code>" in text(sent)  # its short reference
    assert signed_in.get(SPACE).status_code == 200  # asked, not yet closed
    support = {"Authorization": f"Bearer {services.staff_tokens.create('alice', 'support')}"}
    decided = client.post(f"/api/v1/support/requests/{request_id}/decision", headers=support,
                          json={"decision": "accept", "note": "Demande du membre."})
    assert decided.status_code == 200, decided.json
    went_to(signed_in.get(SPACE), SIGN_IN)


def test_a_temporary_password_session_reaches_only_the_forced_change(app, browser, client,
                                                                     services):
    assert client.post("/api/v1/registrations", json=HELENE).json["status"] == "accepted"
    [(identifier, temporary)] = issued_credentials(services)
    went_to(browser.sign_in(identifier, temporary), FORCED)
    before = stored(services)
    rules = [rule for rule in pages_rules(app, SPACE) if rule.rule != FORCED]
    assert len(rules) >= 8, [rule.rule for rule in rules]
    for rule in rules:
        if "GET" in rule.methods:
            went_to(browser.get(rule.rule), FORCED)
        if "POST" in rule.methods:
            went_to(browser.post(rule.rule, page="/contact", **everything(identifier, temporary)),
                    FORCED)
    went_to(browser.get(SIGN_IN), SPACE)
    assert stored(services) == before  # nothing done on the way
    weak = browser.post(FORCED, current_password=temporary, new_password="motdepasse")
    assert weak.status_code == 422
    assert temporary not in text(weak) and "motdepasse" not in text(weak)
    went_to(browser.post(FORCED, current_password=temporary, new_password=OWN_PASSWORD), SPACE)
    assert "Bonjour Hélène Dupré-Lefèvre" in text(browser.get(SPACE))


def test_page_and_api_failures_lock_the_account_after_exactly_5(browser, client, member, clock):
    page_then_api = [lambda password: browser.sign_in(member.identifier, password),
                     lambda password: sign_in(client, member.identifier, password)]
    for attempt in range(4):
        assert page_then_api[attempt % 2](WRONG).status_code == 401
    went_to(browser.sign_in(member.identifier, member.password), SPACE)  # 4 do not lock
    went_to(browser.post("/deconnexion", page=SPACE), SIGN_IN)
    for attempt in range(5):  # the success reset the count: 5 more, 3 of them on the page
        assert page_then_api[attempt % 2](WRONG).status_code == 401
    locked = browser.sign_in(member.identifier, member.password)
    assert locked.status_code == 401 and MESSAGES["invalid_credentials"] in text(locked)
    assert sign_in(client, member.identifier, member.password).status_code == 401
    clock.advance(minutes=15, seconds=1)
    went_to(browser.sign_in(member.identifier, member.password), SPACE)


def test_a_registration_form_posted_twice_registers_once_and_sends_one_password(
    browser, client, services
):
    form_id = FORM_ID.search(browser.get("/activer").get_data(as_text=True)).group(1)
    first = browser.post("/activer", **REGISTRATION_FORM, form_id=form_id)
    drain(services)  # the first e-mail is sent (TempPasswordIssued, CredentialsEmailSent)
    before = stored(services)
    second = browser.post("/activer", **REGISTRATION_FORM, form_id=form_id)
    assert first.status_code == second.status_code == 302
    assert first.location == second.location and "/activer/suivi/" in first.location
    drain(services)
    assert stored(services) == before
    [(identifier, temporary)] = issued_credentials(services)
    assert sign_in(client, identifier, temporary).status_code == 201


def assert_refused_field(page, field: str, messages: list[str]) -> None:
    """A 422 page: the API's summary in role="alert", the field's messages tied to its input."""
    shown = text(page)
    assert page.status_code == 422, shown[:300]
    summary = re.search(r'role="alert".*?<h2 class="error-title">(.*?)</h2>', shown, re.S)
    assert summary and summary.group(1) == MESSAGES["validation_error"]
    error = re.search(rf'<div class="field-error" id="{field}-error">(.*?)</div>', shown, re.S)
    assert error, f"no message for {field}"
    assert all(message in error.group(1) for message in messages), (error.group(1), messages)
    tag = re.search(rf'<(?:input|textarea) id="{field}"[^>]*>', shown).group(0)
    assert 'aria-invalid="true"' in tag and f"{field}-error" in tag


@pytest.mark.parametrize(("field", "typed"), [
    ("email", "helene@localhost"), ("email", "helene.example.org"),
    ("last_name", "Dupré\u202eLefèvre"), ("first_name", "H\u0007élène"),
    ("first_name", "H" * 101), ("member_number", "M" * 21), ("birth_date", "1978/04/12"),
    ("birth_date", "12/13/1978"), ("birth_date", "31/02/1978"), ("birth_date", "12 avril 1978"),
])
def test_a_registration_form_with_bad_input_shows_the_apis_error_and_records_nothing(
    browser, client, services, field, typed
):
    before = stored(services)
    expected = ["JJ/MM/AAAA"]  # the page's dates are typed so, the API's are AAAA-MM-JJ
    if field != "birth_date":
        api = client.post("/api/v1/registrations", json={**HELENE, field: typed})
        assert api.status_code == 422 and field in api.json["errors"]
        expected = api.json["errors"][field]
    page = browser.post("/activer", **{**REGISTRATION_FORM, field: typed})
    assert_refused_field(page, field, expected)
    assert stored(services) == before


def test_the_contact_form_joins_a_messages_lines_but_refuses_a_bidi_override(
    browser, client, services
):
    asker = {"kind": "other", "last_name": "Martin", "first_name": "Louise"}
    before = stored(services)
    tricked = "Bonjour, mon identifiant est \u202e87654321"
    api = client.post("/api/v1/support-requests", json={**asker, "message": tricked})
    assert api.status_code == 422
    assert_refused_field(browser.post("/contact", **asker, message=tricked), "message",
                         api.json["errors"]["message"])
    assert stored(services) == before
    sent = browser.post("/contact", **asker,
                        message="Bonjour,\r\nje ne reçois pas\r\n\r\nmes codes.\r\n")
    assert sent.status_code == 200 and "Demande transmise au support" in text(sent)
    [submitted] = recorded(services, "SupportRequestSubmitted")
    assert submitted.message == "Bonjour, je ne reçois pas mes codes."
    # The short reference its acknowledgement e-mail quotes, not the request's whole id.
    reference = submitted.originator_id.hex[:8].upper()
    shown = text(sent)
    assert f"<code>{reference}</code>" in shown and str(submitted.originator_id) not in shown


def answered(request):
    """The answer, or the exception that no error page caught (Flask's test client re-raises
    it; a server would answer a bare 500)."""
    try:
        return request()
    except Exception as error:  # reported by the caller's assertion
        return error


class Outage:
    """PostgreSQL refuses the app's database: its open connections are ended, new ones refused."""

    def __init__(self, database_url: str, pool) -> None:
        self.name = urlsplit(database_url).path.lstrip("/")
        self.pool, self.wait = pool, pool.timeout
        # Each read is tried 10 times (eventsourcing's recorders), each waiting for the pool:
        # 0.5 s rather than 5 s a wait keeps a 503 from taking a minute here.
        pool.timeout = 0.5

    def cut(self) -> None:
        self._admin(f'ALTER DATABASE "{self.name}" ALLOW_CONNECTIONS false',
                    f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    f" WHERE datname = '{self.name}'")

    def restore(self) -> None:
        self._admin(f'ALTER DATABASE "{self.name}" ALLOW_CONNECTIONS true')
        # The pool reconnects with a back-off of its own: a read right after the outage waits
        # for it as a read in production would, not 0.5 s.
        self.pool.timeout = self.wait

    def _admin(self, *statements: str) -> None:
        with psycopg.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, dbname="postgres",
                             autocommit=True) as connection:
            for statement in statements:
                connection.execute(statement)


@pytest.fixture
def outage(services, database_url) -> Iterator[Outage]:
    outage = Outage(database_url, services.database.datastore.pool)
    yield outage
    outage.restore()


# PostgreSQL alone: a SQLite file cannot be cut off from the process that opened it.
@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_a_dead_database_answers_a_503_page_and_records_nothing(app, services, member, outage):
    signed, visitor = Browser(app.test_client()), Browser(app.test_client())
    went_to(signed.sign_in(member.identifier, member.password), SPACE)
    token = visitor.token("/activer")
    before = stored(services)
    outage.cut()
    answers = {path: answered(lambda path=path, fields=fields: visitor.client.post(
        path, headers={"Accept": HTML}, data={**fields, "csrf_token": token}))
        for path, fields in [("/activer", REGISTRATION_FORM), (SIGN_IN, {
            "identifier": member.identifier, "password": member.password})]}
    answers[SPACE] = answered(lambda: signed.get(SPACE))
    outage.restore()
    for path, answer in answers.items():
        assert not isinstance(answer, Exception), f"{path}: {answer!r} escaped the 503 page"
        assert answer.status_code == 503 and answer.mimetype == "text/html", path
        assert answer.headers["Retry-After"] and MESSAGES["service_unavailable"] in text(answer)
    assert stored(services) == before
    assert signed.get(SPACE).status_code == 200  # the outage ended no session
