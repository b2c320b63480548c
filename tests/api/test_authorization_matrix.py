"""The authorisation matrix (issue 9, item 4): every route of the app x every kind of caller gets
the contract's answer (CONTRACT.md: "Errors", "Authentication", "GET /me" in "Rules in detail").

The matrix is generated from the route table: ROUTES is read from the `url_map` of a throwaway
app at collection, and each (method, rule) x caller is one test case. A route without an entry
in RULES fails (its cases, and `test_every_route_has_a_rule_and_every_rule_a_route`); so does
a rule for a route that is gone. The OpenAPI document is checked against RULES too (same
routes, `bearer` security exactly where a token is needed).

Callers: no token, an unknown bearer token, the token of a session that was signed out, a member
(own password), a member signed in with a temporary password, another member, and the staff
roles support, auditor and claims. Member callers sign in afresh for every case, so a sign-out
or a revoked session never leaks into the next case; staff tokens are made once per engine.

What each kind of route answers:
- public (portal forms, sign-in, operations, OpenAPI and its docs): a bearer token is ignored,
  whoever sends it (a temporary session included: the restriction on temporary sessions is about
  what the session may call, and these need no session) - every caller gets the same answer;
- member endpoints: no/unknown/revoked token -> 401 `authentication_required`; a staff token
  -> 403 `forbidden`; a temporary-password session -> 403 `password_change_required` except on
  GET /me, PUT /me/password and DELETE /sessions/current;
- staff endpoints: no/unknown/revoked token -> 401 `authentication_required`; another role or
  any member session (temporary ones included) -> 403 `forbidden`;
- the support console (/support/...): HTML pages on a cookie session, opened by typing a support
  token into its sign-in form; bearer headers play no part, so every caller without a console
  session gets the same answer: the sign-in page (200), a redirect to it from every other page,
  a 401 sign-in page for a form without a token. `test_the_console_opens_to_a_support_token_only`
  covers what each role's token does when typed into the console's form;
- the member portal's pages (/, /activer, /mon-espace...): the same on a member's cookie
  session: public pages and their forms answer everyone alike (an empty form: the API's 422),
  a member's page without the cookie sends to /connexion (tests/api/test_portal_pages*.py test
  the signed-in side).

Allowed callers must get the route's contract answer (`Rule.ok`, never 401/403); every request
carries a valid body, so a refusal is never a validation error in disguise. Both engines run
(one app per engine for the whole module: 38 (method, rule) x 9 callers = 342 cases each; the
whole file takes about 12 s). Beside the matrix: HEAD is guarded like GET, identifiers of
nothing give 404 (never 500), an idle session expires into 401, and another member's /me calls
see and change only their own account.
"""

from __future__ import annotations

import re
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from flask import Flask

from projections.support_queue import item_id
from tests.helpers import (
    OTHER,
    OWN,
    PG_HOST,
    PG_PORT,
    PG_USER,
    FakeClock,
    bearer,
    credentials,
    drain,
    make_settings,
    read_mail,
    settle,
    text_of,
)

# The callers.

ANONYMOUS, UNKNOWN, SIGNED_OUT = "anonymous", "unknown_token", "signed_out_session"
MEMBER, TEMPORARY, OTHER_MEMBER = "member", "temporary_password", "other_member"
SUPPORT, AUDITOR, CLAIMS = "support", "auditor", "claims"
CALLERS = [
    ANONYMOUS, UNKNOWN, SIGNED_OUT, MEMBER, TEMPORARY, OTHER_MEMBER, SUPPORT, AUDITOR, CLAIMS
]
NO_IDENTITY = (ANONYMOUS, UNKNOWN, SIGNED_OUT)  # no live token: 401 wherever one is needed
STAFF = (SUPPORT, AUDITOR, CLAIMS)
MEMBERS = (MEMBER, TEMPORARY, OTHER_MEMBER)
UNKNOWN_TOKEN = "Zm9vYmFyYmF6cXV4LW5vdC1hLXJlYWwtdG9rZW4tYXQtYWxs"  # 43+ url-safe characters

# The kinds of access a route may have.

PUBLIC = "public"
CONSOLE = "console"  # the support console's HTML pages (cookie session, CSRF)
PAGES = "pages"  # the member portal's HTML pages: the same, with a member's cookie session
MEMBER_ONLY = "member"  # a member's own session, not one opened with a temporary password
MEMBER_OR_TEMPORARY = "member+temporary"  # also a temporary-password session
ROLE = {SUPPORT: "staff:support", AUDITOR: "staff:auditor", CLAIMS: "staff:claims"}
NEEDS_TOKEN = {MEMBER_ONLY, MEMBER_OR_TEMPORARY, *ROLE.values()}

REFUSAL_CODES = {"authentication_required", "forbidden", "password_change_required"}


def refusal(access: str, caller: str) -> tuple[int, str] | None:
    """The contract's refusal for this caller on a route with this access, or None if allowed."""
    if access in (PUBLIC, CONSOLE, PAGES):
        return None  # bearer tokens play no part there
    if caller in NO_IDENTITY:
        return 401, "authentication_required"
    if access in (MEMBER_ONLY, MEMBER_OR_TEMPORARY):
        if caller in STAFF:
            return 403, "forbidden"  # "Staff tokens get 403 forbidden on member endpoints"
        if caller == TEMPORARY and access == MEMBER_ONLY:
            return 403, "password_change_required"
        return None
    if access == ROLE.get(caller):
        return None
    return 403, "forbidden"  # another role, or a member (temporary sessions included)


# The members and the bodies.

A = {  # "member": a health principal with her own password
    "member_number": "M1000001", "last_name": "Dupré-Lefèvre", "first_name": "Hélène",
    "birth_date": "1978-04-12", "email": "colibri.turquoise@example.org",
}
B = {  # "another member": another health principal with her own password
    "member_number": "M1000005", "last_name": "N'Diaye", "first_name": "Aminata",
    "birth_date": "1985-06-03", "email": "heron.cendre@example.org",
}
T = {  # "member with a temporary password": never set her own
    "member_number": "M1000007", "last_name": "O’Connor-Lebrun", "first_name": "Lætitia",
    "birth_date": "1969-11-08", "email": "martin.pecheur@example.org",
}
REVIEWED = {  # names that do not match the directory: an identity_review for support to decide
    "member_number": "M1000019", "last_name": "Garcia y Ruiz", "first_name": "Mariana",
    "birth_date": "1966-03-14", "email": "mariana@example.org",
}
NOBODY = {
    "member_number": "Z9999999", "last_name": "Personne", "first_name": "Inconnue",
    "birth_date": "1980-01-01",
}
HELP = {
    "kind": "other", "last_name": "Martin", "first_name": "Louise",
    "message": "Je n'arrive pas à me connecter.", "email": "louise@example.org",
}
NOW = datetime.now(UTC)
REIMBURSEMENT = {
    "reimbursement_id": "matrix-0001", "member_number": "M1000001",
    "contract_id": "SANTE-IND-001", "label": "Consultation généraliste",
    "care_date": (NOW - timedelta(days=10)).date().isoformat(),
    "paid_at": (NOW - timedelta(days=5)).replace(microsecond=0).isoformat(),
    "amount": "25.00",
}
FAKE = {  # plausible identifiers of nothing
    "registration_id": str(uuid.UUID(int=1)),
    "item_id": str(uuid.UUID(int=2)),
    "request_id": str(uuid.UUID(int=3)),
    "identifier": "00000000",
    "position": "999999",
    "filename": "rien-ici.css",
    "session_id": "aucune-session",
    "passkey_id": "aucune-cle",
}

Body = dict[str, Any] | Callable[["World", str], dict[str, Any]] | None


@dataclass(frozen=True)
class Rule:
    """Who may call a route, and a request that the allowed callers see succeed.

    `ok`: the statuses an allowed caller may get (for console pages: what everyone gets).
    `body(world, password)`: `password` is the member caller's own (temporary or not); for the
    other callers it is member A's, i.e. the body a thief of A's password would send.
    `params`: path parameter -> key in World.params (defaults to the parameter's name).
    """

    access: str
    ok: frozenset[int]
    body: Body = None
    query: dict[str, str] | Callable[[World], dict[str, str]] | None = None
    params: dict[str, str] = field(default_factory=dict)
    form: dict[str, str] | None = None  # console: posted with a valid CSRF token
    location: str | None = None  # console: where a redirect goes


def ok(*statuses: int) -> frozenset[int]:
    return frozenset(statuses)


PUBLIC_PAGES = ("/activer", "/connexion", "/codes-oublies", "/verification-email", "/contact",
                "/connexion/code-de-secours")
MEMBER_PAGES = ("/mon-espace", "/mon-espace/remboursements", "/mon-espace/infos",
                "/mon-espace/fermeture", "/mon-espace/nouveau-mot-de-passe",
                "/mon-espace/securite", "/mon-espace/mes-donnees.json")
MEMBER_FORMS = ("/mon-espace/infos/email", "/mon-espace/infos/mot-de-passe",
                "/mon-espace/infos/question", "/mon-espace/infos/alertes",
                "/mon-espace/fermeture", "/mon-espace/nouveau-mot-de-passe",
                "/mon-espace/securite/appareil", "/mon-espace/securite/autres-appareils",
                "/mon-espace/securite/cle", "/mon-espace/securite/cle/suppression",
                "/mon-espace/securite/cle/exigence", "/mon-espace/securite/codes-de-secours",
                "/mon-espace/securite/confirmation", "/mon-espace/securite/confirmation/options")

RULES: dict[tuple[str, str], Rule] = {
    # Public: the portal front-end.
    ("POST", "/api/v1/registrations"): Rule(PUBLIC, ok(201), body={**NOBODY, "email": "x@y.org"}),
    ("GET", "/api/v1/registrations/<registration_id>"): Rule(PUBLIC, ok(200)),
    ("POST", "/api/v1/recoveries"): Rule(PUBLIC, ok(202), body=NOBODY),
    ("POST", "/api/v1/email-verifications"): Rule(PUBLIC, ok(404), body={"token": "inconnu"}),
    ("POST", "/api/v1/support-requests"): Rule(PUBLIC, ok(202), body=HELP),
    ("POST", "/api/v1/sessions"): Rule(
        PUBLIC, ok(201), body=lambda w, _: {"identifier": w.members[MEMBER][0], "password": OWN}
    ),
    # A member's session; a temporary one only for these three.
    ("DELETE", "/api/v1/sessions/current"): Rule(MEMBER_OR_TEMPORARY, ok(204)),
    ("GET", "/api/v1/me"): Rule(MEMBER_OR_TEMPORARY, ok(200)),
    ("PUT", "/api/v1/me/password"): Rule(  # the same password again: weak, nothing changes
        MEMBER_OR_TEMPORARY, ok(422),
        body=lambda _, pw: {"current_password": pw, "new_password": pw},
    ),
    ("POST", "/api/v1/me/email"): Rule(
        MEMBER_ONLY, ok(202), body=lambda _, pw: {"new_email": "neuve@example.org", "password": pw}
    ),
    ("PUT", "/api/v1/me/secret-question"): Rule(
        MEMBER_ONLY, ok(204),
        body=lambda _, pw: {"question": "Mon premier chien ?", "answer": "Médor", "password": pw},
    ),
    ("PUT", "/api/v1/me/alerts"): Rule(MEMBER_ONLY, ok(200), body={"reimbursements": False}),
    ("POST", "/api/v1/me/closure"): Rule(MEMBER_ONLY, ok(202), body=lambda _, pw: {"password": pw}),
    ("GET", "/api/v1/me/reimbursements"): Rule(MEMBER_ONLY, ok(200)),
    ("GET", "/api/v1/me/sessions"): Rule(MEMBER_ONLY, ok(200)),
    ("DELETE", "/api/v1/me/sessions"): Rule(MEMBER_ONLY, ok(204)),  # the caller's other ones
    ("DELETE", "/api/v1/me/sessions/<session_id>"): Rule(MEMBER_ONLY, ok(404)),  # none has it
    ("GET", "/api/v1/me/export"): Rule(MEMBER_ONLY, ok(200)),
    # Passkeys: the session was just opened with a password, a proof of identity in time.
    ("GET", "/api/v1/me/passkeys"): Rule(MEMBER_ONLY, ok(200)),
    ("POST", "/api/v1/me/passkeys/options"): Rule(MEMBER_ONLY, ok(200)),
    ("POST", "/api/v1/me/passkeys"): Rule(  # no browser answer to check: refused, field named
        MEMBER_ONLY, ok(422), body={"name": "Clé", "credential": {}}
    ),
    ("DELETE", "/api/v1/me/passkeys/<passkey_id>"): Rule(MEMBER_ONLY, ok(404)),
    ("PUT", "/api/v1/me/passkeys/requirement"): Rule(
        MEMBER_ONLY, ok(200), body={"required": False}
    ),
    ("POST", "/api/v1/me/recovery-codes"): Rule(MEMBER_ONLY, ok(422)),  # without a passkey
    ("POST", "/api/v1/me/reauthentication/options"): Rule(MEMBER_ONLY, ok(200)),
    ("POST", "/api/v1/me/reauthentication"): Rule(
        MEMBER_ONLY, ok(204), body=lambda _, pw: {"password": pw}
    ),
    ("POST", "/api/v1/sessions/passkey/options"): Rule(PUBLIC, ok(200)),
    ("POST", "/api/v1/sessions/passkey"): Rule(PUBLIC, ok(401), body={"credential": {}}),
    ("POST", "/api/v1/sessions/recovery-code"): Rule(
        PUBLIC, ok(401), body={"identifier": "00000000", "recovery_code": "AAAA-AAAA-AAAA-AAAA"}
    ),
    # Support.
    ("GET", "/api/v1/support/queue"): Rule(ROLE[SUPPORT], ok(200), query={"status": "open"}),
    ("GET", "/api/v1/support/queue/<item_id>"): Rule(ROLE[SUPPORT], ok(200)),
    ("POST", "/api/v1/support/registrations/<registration_id>/decision"): Rule(
        ROLE[SUPPORT], ok(200), body={"decision": "reject", "note": "matrice"}
    ),
    ("POST", "/api/v1/support/requests/<request_id>/decision"): Rule(
        ROLE[SUPPORT], ok(200), body={"decision": "reject", "note": "matrice"}
    ),
    ("GET", "/api/v1/support/accounts/<identifier>"): Rule(ROLE[SUPPORT], ok(200)),
    # B's own password keeps working after a re-send (a temporary one replaces it only once used).
    ("POST", "/api/v1/support/accounts/<identifier>/credentials"): Rule(
        ROLE[SUPPORT], ok(202), params={"identifier": "other_identifier"}
    ),
    ("POST", "/api/v1/support/accounts/<identifier>/unlock"): Rule(ROLE[SUPPORT], ok(200)),
    # Claims.
    ("POST", "/api/v1/internal/reimbursements"): Rule(ROLE[CLAIMS], ok(202), body=REIMBURSEMENT),
    # Audit.
    ("GET", "/api/v1/audit/accounts/<identifier>/events"): Rule(ROLE[AUDITOR], ok(200)),
    ("GET", "/api/v1/audit/accounts/<identifier>/state"): Rule(
        ROLE[AUDITOR], ok(200), query=lambda w: {"at": w.at}
    ),
    ("GET", "/api/v1/audit/events"): Rule(ROLE[AUDITOR], ok(200), query={"after": "0"}),
    ("GET", "/api/v1/audit/checkpoint"): Rule(ROLE[AUDITOR], ok(200)),
    ("GET", "/api/v1/audit/public-key"): Rule(ROLE[AUDITOR], ok(200)),
    ("GET", "/api/v1/audit/events/<position>/inclusion"): Rule(
        ROLE[AUDITOR], ok(200), query={"size": "2"}
    ),
    ("GET", "/api/v1/audit/consistency"): Rule(
        ROLE[AUDITOR], ok(200), query={"from": "1", "to": "2"}
    ),
    # Operations, OpenAPI and its docs page (its assets served locally).
    ("GET", "/healthz"): Rule(PUBLIC, ok(200)),
    ("GET", "/readyz"): Rule(PUBLIC, ok(200)),
    ("GET", "/metrics"): Rule(PUBLIC, ok(200)),
    ("GET", "/api/v1/openapi.json"): Rule(PUBLIC, ok(200)),
    ("GET", "/api/v1/docs"): Rule(PUBLIC, ok(200)),
    ("GET", "/api/v1/docs/static/<path:filename>"): Rule(
        PUBLIC, ok(200), params={"filename": "swagger_css"}
    ),
    # Flask's own static route: the app has no static folder, so nothing is ever there.
    ("GET", "/static/<path:filename>"): Rule(PUBLIC, ok(404)),
    # The member portal's pages: no cookie session, whatever the bearer header says. The forms
    # are posted empty: the API's 422, shown on the page; a member's page sends to sign-in.
    ("GET", "/"): Rule(PAGES, ok(200)),
    ("GET", "/assets/<path:filename>"): Rule(PAGES, ok(200), params={"filename": "portal_css"}),
    **{("GET", path): Rule(PAGES, ok(200)) for path in PUBLIC_PAGES},
    **{("POST", path): Rule(PAGES, ok(422), form={}) for path in PUBLIC_PAGES},
    ("GET", "/activer/suivi/<registration_id>"): Rule(PAGES, ok(200)),
    # A passkey's sign-in: the options for anyone; no browser answer is a refusal.
    ("POST", "/connexion/cle-d-acces/options"): Rule(PAGES, ok(200), form={}),
    ("POST", "/connexion/cle-d-acces"): Rule(PAGES, ok(401), form={}),
    **{("GET", path): Rule(PAGES, ok(302), location="/connexion") for path in MEMBER_PAGES},
    **{
        ("POST", path): Rule(PAGES, ok(302), form={}, location="/connexion")
        for path in (*MEMBER_FORMS, "/deconnexion")
    },
    # The support console: no console session, whatever the bearer header says.
    ("GET", "/support/"): Rule(CONSOLE, ok(200)),
    ("POST", "/support/"): Rule(CONSOLE, ok(401), form={}),  # the form without a token
    ("POST", "/support/signout"): Rule(CONSOLE, ok(302), form={}, location="/support/"),
    ("GET", "/support/queue"): Rule(CONSOLE, ok(302), location="/support/"),
    ("GET", "/support/items/<item_id>"): Rule(CONSOLE, ok(302), location="/support/"),
    ("POST", "/support/registrations/<registration_id>/decision"): Rule(
        CONSOLE, ok(302), form={"decision": "reject", "note": "matrice"}, location="/support/"
    ),
    ("POST", "/support/requests/<request_id>/decision"): Rule(
        CONSOLE, ok(302), form={"decision": "reject", "note": "matrice"}, location="/support/"
    ),
    ("GET", "/support/accounts"): Rule(CONSOLE, ok(302), location="/support/"),
    ("GET", "/support/accounts/<identifier>"): Rule(CONSOLE, ok(302), location="/support/"),
    **{
        ("POST", f"/support/accounts/<identifier>/{action}"): Rule(
            CONSOLE, ok(302), form={}, location="/support/"
        )
        for action in ("credentials", "unlock", "export")
    },
    # The auditor's pages (tests/api/test_console_audit.py: which console role opens which).
    **{
        ("GET", f"/support/audit{path}"): Rule(CONSOLE, ok(302), location="/support/")
        for path in ("", "/accounts", "/accounts/<identifier>", "/accounts/<identifier>/state",
                     "/accounts/<identifier>/changes", "/events", "/verification")
    },
}

# Cases that reveal a bug: (method, rule, caller) -> the precise reason (strict xfail).
KNOWN_BUGS: dict[tuple[str, str, str], str] = {}


# The route table, read from a throwaway app (SQLite in a temporary directory).


def _route_table() -> list[tuple[str, str]]:
    from app import create_app

    directory = Path(tempfile.mkdtemp(prefix="routes-"))
    try:
        app = create_app(make_settings(directory, f"sqlite:///{directory / 'routes.sqlite3'}"))
        try:
            return sorted(
                (method, rule.rule)
                for rule in app.url_map.iter_rules()
                for method in rule.methods or ()
                if method not in ("HEAD", "OPTIONS")
            )
        finally:
            app.extensions["accounts"].close()
    finally:
        shutil.rmtree(directory, ignore_errors=True)


ROUTES = _route_table()


def _case(method: str, rule: str, caller: str) -> Any:
    reason = KNOWN_BUGS.get((method, rule, caller))
    marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
    return pytest.param(method, rule, caller, marks=marks, id=f"{method} {rule} [{caller}]")


CASES = [_case(method, rule, caller) for method, rule in ROUTES for caller in CALLERS]
WITH_IDS = [(m, r) for m, r in ROUTES if "<" in r and (m, r) in RULES]  # path parameters


# One app per engine for the whole module, with its members, staff and things to act upon.


@dataclass
class World:
    app: Flask
    clock: FakeClock
    staff: dict[str, str]  # role -> token
    members: dict[str, tuple[str, str]]  # caller -> (identifier, password)
    params: dict[str, str]  # World.params key -> a real value
    at: str = ""

    def password(self, caller: str) -> str:
        return self.members[caller][1] if caller in MEMBERS else OWN

    def sign_in(self, caller: str) -> str:
        identifier, password = self.members[caller]
        response = self.app.test_client().post(
            "/api/v1/sessions", json={"identifier": identifier, "password": password}
        )
        assert response.status_code == 201, response.json
        assert response.json["must_change_password"] is (caller == TEMPORARY)
        return response.json["token"]

    def headers(self, caller: str) -> dict[str, str]:
        if caller == ANONYMOUS:
            return {}
        if caller == UNKNOWN:
            return bearer(UNKNOWN_TOKEN)
        if caller in STAFF:
            return bearer(self.staff[caller])
        if caller == SIGNED_OUT:
            token = self.sign_in(MEMBER)
            out = self.app.test_client().delete("/api/v1/sessions/current", headers=bearer(token))
            assert out.status_code == 204
            return bearer(token)
        return bearer(self.sign_in(caller))


def _issued(services, email: str) -> tuple[str, str]:
    """The latest (identifier, temporary password) e-mailed to `email`."""
    drain(services)
    issued = [
        credentials(m) for m in read_mail(services.settings.mail.directory)
        if m["To"] == email and "Mot de passe temporaire" in text_of(m)
    ]
    assert issued, f"no credentials e-mail for {email}"
    return issued[-1]


def _postgres_database() -> Iterator[str]:
    name = f"accounts_test_matrix_{uuid.uuid4().hex[:12]}"

    def admin() -> psycopg.Connection:
        return psycopg.connect(
            host=PG_HOST, port=PG_PORT, user=PG_USER, dbname="postgres", autocommit=True,
            connect_timeout=5,
        )

    try:
        with admin() as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError as error:
        pytest.skip(f"PostgreSQL is not reachable ({error})")
    yield f"postgresql://{PG_USER}@{PG_HOST}:{PG_PORT}/{name}"
    with admin() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def world(request: pytest.FixtureRequest, tmp_path_factory) -> Iterator[World]:
    from app import create_app
    from tests.helpers import DEMO_CSV

    tmp = tmp_path_factory.mktemp(f"matrix-{request.param}")
    if request.param == "sqlite":
        databases: Iterator[str] = iter([f"sqlite:///{tmp / 'accounts.sqlite3'}"])
    else:
        databases = _postgres_database()
    url = next(databases)
    clock = FakeClock()
    app = create_app(make_settings(tmp, url), clock=clock)
    app.config["RECOVERY_MIN_SECONDS"] = 0.0
    services = app.extensions["accounts"]
    try:
        services.directory.import_csv(DEMO_CSV.read_text(encoding="utf-8"))
        client = app.test_client()
        members = {}
        for caller, who, own in ((MEMBER, A, OWN), (OTHER_MEMBER, B, OTHER), (TEMPORARY, T, None)):
            answer = client.post("/api/v1/registrations", json=who)
            assert answer.json["status"] == "accepted", answer.json
            identifier, temporary = _issued(services, who["email"])
            if own is not None:
                token = client.post(
                    "/api/v1/sessions", json={"identifier": identifier, "password": temporary}
                ).json["token"]
                assert client.put(
                    "/api/v1/me/password",
                    json={"current_password": temporary, "new_password": own},
                    headers=bearer(token),
                ).status_code == 204
            members[caller] = (identifier, own or temporary)
        staff = {role: services.staff_tokens.create(f"matrix-{role}", role) for role in STAFF}
        review = client.post("/api/v1/registrations", json=REVIEWED)
        assert review.json["status"] == "identity_review", review.json
        helped = client.post("/api/v1/support-requests", json=HELP)
        assert helped.status_code == 202, helped.json
        fed = client.post(
            "/api/v1/internal/reimbursements", json=REIMBURSEMENT, headers=bearer(staff[CLAIMS])
        )
        assert fed.status_code == 202, fed.json
        settle(services)
        request_id = helped.json["request_id"]
        world = World(
            app=app, clock=clock, staff=staff, members=members,
            params={
                "registration_id": review.json["registration_id"],
                "request_id": request_id,
                "item_id": item_id("other", request_id),
                "identifier": members[MEMBER][0],
                "other_identifier": members[OTHER_MEMBER][0],
                "filename": "rien-ici.txt",
                "swagger_css": "swagger-ui.css",
                "portal_css": "portal.css",
                "session_id": "aucune-session",
                "passkey_id": "aucune-cle",
                "position": "1",  # the log's first event: a leaf of every tree
            },
        )
        clock.advance(seconds=1)
        world.at = clock.now.isoformat()
        yield world
    finally:
        services.close()
        for _ in databases:  # PostgreSQL: drop the database
            pass


# Sending a rule's request.

PARAMETER = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def path_for(rule: str, values: Callable[[str], str]) -> str:
    return PARAMETER.sub(lambda m: values(m.group(1)), rule)


def send(world: World, method: str, rule: str, spec: Rule, caller: str, path: str) -> Any:
    client = world.app.test_client()
    headers = world.headers(caller)
    query = spec.query(world) if callable(spec.query) else spec.query
    if spec.form is not None:
        page = client.get("/support/").get_data(as_text=True)
        form = {**spec.form, "csrf_token": CSRF.search(page).group(1)}
        return client.open(path, method=method, data=form, headers=headers, query_string=query)
    body = spec.body(world, world.password(caller)) if callable(spec.body) else spec.body
    return client.open(path, method=method, json=body, headers=headers, query_string=query)


def real_path(world: World, rule: str, spec: Rule) -> str:
    return path_for(rule, lambda name: world.params[spec.params.get(name, name)])


def describe(response: Any) -> str:
    body = response.get_json(silent=True)
    return f"{response.status_code} {body if body is not None else response.data[:200]!r}"


# The matrix.


@pytest.mark.parametrize(("method", "rule", "caller"), CASES)
def test_authorisation_matrix(world: World, method: str, rule: str, caller: str) -> None:
    spec = RULES.get((method, rule))
    if spec is None:
        pytest.fail(f"{method} {rule} has no rule in RULES: say who may call it")
    response = send(world, method, rule, spec, caller, real_path(world, rule, spec))
    assert response.status_code < 500, describe(response)
    expected = refusal(spec.access, caller)
    if expected is not None:
        status, code = expected
        assert (response.status_code, (response.get_json(silent=True) or {}).get("code")) == (
            status, code
        ), describe(response)
        assert set(response.json) <= {"code", "message", "errors"}
        assert isinstance(response.json["message"], str) and response.json["message"]
        if status == 401:
            assert response.headers.get("WWW-Authenticate") == "Bearer"
        return
    assert response.status_code in spec.ok, describe(response)
    body = response.get_json(silent=True)
    if isinstance(body, dict):
        assert body.get("code") not in REFUSAL_CODES, describe(response)
    if spec.location is not None:
        assert response.location.endswith(spec.location), response.location


def test_every_route_has_a_rule_and_every_rule_a_route() -> None:
    missing = [f"{m} {r}" for m, r in ROUTES if (m, r) not in RULES]
    stale = [f"{m} {r}" for m, r in RULES if (m, r) not in ROUTES]
    assert not missing, f"routes without a rule in RULES: {missing}"
    assert not stale, f"rules for routes that no longer exist: {stale}"


def test_the_openapi_document_agrees_with_the_rules(world: World) -> None:
    """Same operations as the route table, and `bearer` security exactly where a token is
    needed (the front-end and the staff's tools read it to know what to send)."""
    document = world.app.test_client().get("/api/v1/openapi.json").json
    seen = set()
    wrong = []
    for path, operations in document["paths"].items():
        rule = re.sub(r"\{([^}]+)\}", r"<\1>", path)
        for method, operation in operations.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            key = (method.upper(), rule)
            seen.add(key)
            spec = RULES.get(key)
            assert spec is not None, f"{key} is in the OpenAPI document but not in RULES"
            declared = {"bearer"} if operation.get("security") == [{"bearer": []}] else set()
            if declared != ({"bearer"} if spec.access in NEEDS_TOKEN else set()):
                wrong.append(key)
    assert not wrong, f"bearer security declared wrongly for {wrong}"
    api_routes = {(m, r) for m, r in RULES if r.startswith("/api/v1/") and "/docs" not in r}
    api_routes.discard(("GET", "/api/v1/openapi.json"))
    assert api_routes <= seen, f"missing from the OpenAPI document: {sorted(api_routes - seen)}"


def console_request(world: World, method: str, path: str, spec: Rule) -> Any:
    """As the console's user of that page, signed in (cookie session, CSRF token from a
    page): an auditor for the audit pages, a support agent for the others."""
    client = world.app.test_client()
    page = client.get("/support/").get_data(as_text=True)
    role = AUDITOR if path.startswith("/support/audit") else SUPPORT
    signed = client.post(
        "/support/", data={"token": world.staff[role], "csrf_token": CSRF.search(page).group(1)}
    )
    assert signed.status_code == 302
    page = client.get(signed.location).get_data(as_text=True)
    form = {**(spec.form or {}), "csrf_token": CSRF.search(page).group(1)}
    return client.open(path, method=method, data=form if method == "POST" else None)


@pytest.mark.parametrize(("method", "rule"), [pytest.param(*k, id=" ".join(k)) for k in WITH_IDS])
def test_an_identifier_of_nothing_is_not_found_never_a_500(
    world: World, method: str, rule: str
) -> None:
    """The caller allowed on the route (a signed-in agent for console pages), with plausible
    identifiers that name nothing, then with ones that are not even well-formed."""
    spec = RULES[(method, rule)]
    caller = next(c for c in CALLERS if refusal(spec.access, c) is None)
    paths = [path_for(rule, FAKE.__getitem__)]
    if any(f"<{name}>" in rule for name in ("registration_id", "request_id", "item_id")):
        paths.append(path_for(rule, lambda name: "pas-un-uuid"))
    for path in paths:
        if spec.access == CONSOLE:
            response = console_request(world, method, path, spec)
        else:
            response = send(world, method, rule, spec, caller, path)
        assert response.status_code == 404, f"{path}: {describe(response)}"
        if rule.startswith("/api/"):
            assert response.json["code"] == "not_found"


GETS = [pytest.param(r, id=r) for m, r in ROUTES if m == "GET" and ("GET", r) in RULES]


@pytest.mark.parametrize("rule", GETS)
@pytest.mark.parametrize("caller", [ANONYMOUS, MEMBER, SUPPORT])
def test_head_is_guarded_like_get(world: World, rule: str, caller: str) -> None:
    """Flask answers HEAD with the GET view: the same refusal, or the same success."""
    spec = RULES[("GET", rule)]
    response = send(world, "HEAD", rule, spec, caller, real_path(world, rule, spec))
    expected = refusal(spec.access, caller)
    assert response.status_code == (expected[0] if expected else min(spec.ok)), response.status
    assert not response.data


def test_an_idle_session_expires_into_401_on_member_and_staff_endpoints(world: World) -> None:
    """"no or unknown/expired bearer token" -> 401, on a staff endpoint too (not 403)."""
    client = world.app.test_client()
    headers = world.headers(MEMBER)
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    world.clock.advance(minutes=31)
    for path in ("/api/v1/me", "/api/v1/support/queue", "/api/v1/audit/events"):
        response = client.get(path, headers=headers)
        assert response.status_code == 401, describe(response)
        assert response.json["code"] == "authentication_required"


# Another member: /me-scoped endpoints only ever see and change the caller's own account.


def test_each_member_sees_only_their_own_portal_view(world: World) -> None:
    client = world.app.test_client()
    mine = client.get("/api/v1/me", headers=world.headers(MEMBER)).json
    theirs = client.get("/api/v1/me", headers=world.headers(OTHER_MEMBER)).json
    assert (mine["identifier"], mine["first_name"]) == (world.members[MEMBER][0], "Hélène")
    assert (theirs["identifier"], theirs["first_name"]) == (
        world.members[OTHER_MEMBER][0], "Aminata"
    )
    assert "Hélène" not in str(theirs) and "colibri" not in str(theirs)


def test_a_members_reimbursements_are_not_shown_to_another(world: World) -> None:
    client = world.app.test_client()
    mine = client.get("/api/v1/me/reimbursements", headers=world.headers(MEMBER)).json
    theirs = client.get("/api/v1/me/reimbursements", headers=world.headers(OTHER_MEMBER)).json
    ids = [r["reimbursement_id"] for c in mine["contracts"] for r in c["reimbursements"]]
    assert REIMBURSEMENT["reimbursement_id"] in ids
    assert "matrix-0001" not in str(theirs) and "SANTE-IND-001" not in str(theirs)


def test_another_members_changes_stay_on_their_account(world: World) -> None:
    client = world.app.test_client()
    mine, theirs = world.headers(MEMBER), world.headers(OTHER_MEMBER)
    try:
        changed = client.put("/api/v1/me/alerts", json={"reimbursements": True}, headers=theirs)
        assert changed.json == {"reimbursements": True}
        assert client.get("/api/v1/me", headers=theirs).json["alerts"] == {"reimbursements": True}
        assert client.get("/api/v1/me", headers=mine).json["alerts"] == {"reimbursements": False}
    finally:
        client.put("/api/v1/me/alerts", json={"reimbursements": False}, headers=theirs)


def test_another_members_sign_out_ends_only_their_session(world: World) -> None:
    client = world.app.test_client()
    mine, theirs = world.headers(MEMBER), world.headers(OTHER_MEMBER)
    assert client.delete("/api/v1/sessions/current", headers=theirs).status_code == 204
    assert client.get("/api/v1/me", headers=theirs).status_code == 401
    assert client.get("/api/v1/me", headers=mine).status_code == 200


# The console: a token typed into its sign-in form opens the support pages to support, the
# audit pages to auditors, and nothing to anyone else.


@pytest.mark.parametrize("caller", CALLERS)
def test_the_console_opens_to_support_and_auditor_tokens_each_on_its_own_pages(
    world: World, caller: str
) -> None:
    client = world.app.test_client()
    token = {ANONYMOUS: "", UNKNOWN: UNKNOWN_TOKEN}.get(caller)
    if token is None:
        token = world.headers(caller)["Authorization"].removeprefix("Bearer ")
    page = client.get("/support/").get_data(as_text=True)
    signed = client.post(
        "/support/", data={"token": token, "csrf_token": CSRF.search(page).group(1)}
    )
    queue, audit = client.get("/support/queue"), client.get("/support/audit")
    if caller == SUPPORT:
        assert signed.status_code == 302 and signed.location.endswith("/support/queue")
        assert (queue.status_code, audit.status_code) == (200, 403)
    elif caller == AUDITOR:
        assert signed.status_code == 302 and signed.location.endswith("/support/audit")
        assert (queue.status_code, audit.status_code) == (403, 200)
    else:
        assert signed.status_code == 401
        assert queue.status_code == 302 and queue.location.endswith("/support/")
