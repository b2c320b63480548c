"""The portal pages' web security (CONTRACT.md v1.1, "Member portal pages", and the v1 rules on
secrets and rate limits): CSRF on every form, the pages' headers, a session cookie that is
HttpOnly, SameSite=Lax, Secure over https and holds neither the token nor personal data,
rate limits shared with the API, and no secret in a URL or echoed back by a page."""

from __future__ import annotations

import base64
import json
import re
import zlib
from contextlib import suppress
from urllib.parse import unquote
from uuid import UUID

import pytest

from adapters.http.errors import MESSAGES
from domain.credentials import token_digest
from tests.api.page_browser import (
    HTML,
    REGISTRATION_FORM,
    SIGN_IN,
    SPACE,
    Browser,
    everything,
    pages_rules,
    stored,
    text,
    went_to,
)
from tests.helpers import (
    ANSWER,
    CODE,
    HELENE,
    IDENTITY,
    NEW_EMAIL,
    OTHER,
    OWN_PASSWORD,
    credentials,
    inbox,
    make_settings,
    open_account,
    text_of,
)

SECRET, SECRET_TOO = "Zanzibar-Orque-7319-secret", "Quetzal-Lagune-8642-secret"
RECOVERY_FORM = {**IDENTITY, "birth_date": "12/04/1978"}
B64_RUN = re.compile(rb"[A-Za-z0-9_+/-]{16,}")


@pytest.fixture
def settings(tmp_path, database_url, request):
    """conftest's settings, with a test's own environment (indirect parametrization)."""
    return make_settings(tmp_path, database_url, **getattr(request, "param", {}))


@pytest.fixture
def member(client, services):
    return open_account(client, services)


@pytest.fixture
def signed_in(app, member) -> Browser:
    browser = Browser(app.test_client())
    went_to(browser.sign_in(member.identifier, member.password), SPACE)
    return browser


def opened_tokens(services, monkeypatch) -> list[str]:
    """Every member session token the service hands out from now on (the page keeps its own
    out of sight: the service is the only other place it is seen)."""
    tokens: list[str] = []
    opening = services.sessions.open

    def open_and_keep(*args, **kwargs):
        token, expires_at = opening(*args, **kwargs)
        tokens.append(token)
        return token, expires_at

    monkeypatch.setattr(services.sessions, "open", open_and_keep)
    return tokens


def email_code(client, services, member) -> str:
    asked = client.post("/api/v1/me/email", headers=member.headers,
                        json={"new_email": NEW_EMAIL, "password": member.password})
    assert asked.status_code == 202
    return code_sent(services)


def code_sent(services) -> str:
    """The verification code in the e-mails sent since the last look."""
    return next(found.group(1) for m in inbox(services) if (found := CODE.search(text_of(m))))


def test_every_form_refuses_a_post_without_this_sessions_csrf_token(app, client, services,
                                                                    member, signed_in):
    fields = everything(member.identifier, member.password, email_code(client, services, member))
    strangers = Browser(app.test_client()).token("/contact")
    paths = [rule.rule for rule in pages_rules(app) if "POST" in rule.methods]
    assert len(paths) >= 12 and not [path for path in paths if "<" in path], paths
    before = stored(services)
    for path in paths:
        for token in (None, "", "pas-un-jeton", strangers):
            data = fields if token is None else {**fields, "csrf_token": token}
            refused = signed_in.client.post(path, data=data, headers={"Accept": HTML})
            assert refused.status_code == 400, (path, token, refused.status_code)
            assert "Le formulaire a expiré" in text(refused), path
            assert stored(services) == before, (path, token)
    assert signed_in.get(SPACE).status_code == 200  # /deconnexion ended nothing
    sent = signed_in.post("/contact", **fields)  # the same fields with the token do something
    assert sent.status_code == 200 and stored(services) != before


def assert_page_headers(response, where: str) -> None:
    headers = response.headers
    assert headers["Cache-Control"] == "no-store", where
    assert headers["X-Frame-Options"] == "DENY", where
    assert headers["X-Content-Type-Options"] == "nosniff", where
    policy = {
        directive.split()[0]: directive.split()[1:]
        for directive in headers["Content-Security-Policy"].split(";") if directive.strip()
    }
    # Our own script only (passkeys.js, the WebAuthn ceremonies), never inline.
    assert policy["script-src"] == ["'self'"], where
    assert policy["default-src"] == ["'none'"] and policy["frame-ancestors"] == ["'none'"], where
    # Neither 'unsafe-inline' nor any other host: our own origin, or nothing.
    assert {s for sources in policy.values() for s in sources} <= {"'none'", "'self'"}, where


def test_every_page_and_the_html_404_carry_the_pages_headers(app, client, signed_in):
    refused = client.post("/api/v1/registrations", json={
        **HELENE, "member_number": "M1000003", "first_name": "Zoé", "birth_date": "2009-02-17"})
    values = {"registration_id": refused.json["registration_id"], "filename": "portal.css"}
    anonymous = Browser(app.test_client())
    gets = [rule for rule in pages_rules(app) if "GET" in rule.methods]
    for rule in gets:
        path = rule.build({name: values[name] for name in rule.arguments})[1]
        for browser in (anonymous, signed_in):
            response = browser.get(path)
            assert response.status_code in (200, 302), (path, response.status_code)
            if rule.endpoint != "pages.static":
                assert_page_headers(response, path)
    assert len(gets) >= 12
    for path in ("/nulle-part", "/mon-espace/nulle-part"):
        missing = anonymous.get(path)
        assert missing.status_code == 404 and missing.mimetype == "text/html"
        assert "<h1>Page introuvable</h1>" in text(missing)
        assert_page_headers(missing, path)
    for path, accept in [("/nulle-part", "application/json"), ("/nulle-part", "*/*"),
                         ("/api/v1/nulle-part", HTML), ("/api/nulle-part", HTML)]:
        response = client.get(path, headers={"Accept": accept})  # API clients get the JSON
        assert response.status_code == 404 and response.json["code"] == "not_found", path
    assert_page_headers(anonymous.client.get("/deconnexion", headers={"Accept": HTML}), "405")
    home = anonymous.get("/").get_data(as_text=True)
    for name in ("common.css", "portal.css"):  # the rules it shares with the console, its own
        sheet = anonymous.get(f"/assets/{name}")
        assert sheet.status_code == 200 and sheet.mimetype == "text/css" and sheet.data
        assert sheet.headers["X-Content-Type-Options"] == "nosniff"
        assert f'href="/assets/{name}"' in home
    assert home.index("common.css") < home.index("portal.css")


@pytest.mark.parametrize(("settings", "secure"), [
    ({"ACCOUNTS_PORTAL_URL": "https://espace-client.example.fr"}, True),
    ({"ACCOUNTS_PORTAL_URL": "http://localhost:5000"}, False),
], indirect=["settings"])
def test_the_session_cookie_is_httponly_lax_and_secure_exactly_over_https(app, member, secure):
    browser = Browser(app.test_client())
    answers = [browser.get(SIGN_IN), browser.sign_in(member.identifier, member.password)]
    went_to(answers[-1], SPACE)
    cookies = [c for a in answers for c in a.headers.getlist("Set-Cookie")]
    assert len(cookies) >= 2 and all(c.startswith("session=") for c in cookies), cookies
    for cookie in cookies:
        attributes = [part.strip() for part in cookie.split(";")]
        assert "HttpOnly" in attributes and "SameSite=Lax" in attributes, cookie
        assert ("Secure" in attributes) is secure, cookie


def layers(data: bytes, depth: int = 3) -> list[bytes]:
    """`data` and whatever its base64 runs decode to (inflated when zlib), a few levels down."""
    found = [data]
    for run in B64_RUN.findall(data) if depth else ():
        with suppress(ValueError):
            raw = base64.urlsafe_b64decode(run + b"=" * (-len(run) % 4))
            found += layers(raw, depth - 1)
            with suppress(zlib.error):
                found += layers(zlib.decompress(raw), depth - 1)
    return found


def test_the_session_cookie_holds_neither_the_token_nor_anything_personal(
    app, services, member, monkeypatch
):
    tokens = opened_tokens(services, monkeypatch)
    browser = Browser(app.test_client())
    went_to(browser.sign_in(member.identifier, member.password), SPACE)
    [token] = tokens
    digests = [row["token_digest"] for row in services.database.run(
        "SELECT token_digest FROM member_sessions")]
    assert token_digest(token) in digests  # the page's session is this member session
    cookie = browser.client.get_cookie("session").value
    content = app.session_interface.get_signing_serializer(app).loads(cookie)
    seen = layers(cookie.encode()) + layers(json.dumps(content, ensure_ascii=False).encode())
    secrets = [token.encode(), base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)),
               *(d.encode() for d in digests), *(bytes.fromhex(d) for d in digests)]
    [session] = services.database.run(
        "SELECT account_id FROM member_sessions WHERE token_digest = %s", (token_digest(token),))
    account_id = UUID(session["account_id"])
    personal = [member.identifier, HELENE["email"], "helene", "Hélène", "Dupré", "Lefèvre",
                "Lefevre", "M1000001", "1978-04-12", "12/04/1978", str(account_id),
                account_id.hex]
    for layer in seen:
        assert not [s for s in secrets if s in layer], "the cookie shows the session's token"
        shown = layer.decode("utf-8", "replace").lower()
        assert not [p for p in personal if p.lower() in shown], shown[:200]
    assert len(seen) > 3  # the cookie's base64 was opened


ATTEMPTS = {  # scope: (API path, its body, its status), (page, its fields, its status)
    "sessions": (("/api/v1/sessions", {"identifier": "12345678", "password": SECRET}, 401),
                 (SIGN_IN, {"identifier": "12345678", "password": SECRET}, 401)),
    "registrations": (
        ("/api/v1/registrations", {**HELENE, "member_number": "M9999999"}, 201),
        ("/activer", {**REGISTRATION_FORM, "member_number": "M9999999"}, 200)),
    "recoveries": (("/api/v1/recoveries", IDENTITY, 202),
                   ("/codes-oublies", RECOVERY_FORM, 200)),
    "support-requests": (
        ("/api/v1/support-requests", {"kind": "other", "last_name": "Martin",
                                      "first_name": "Louise", "message": "Pas de codes."}, 202),
        ("/contact", {"kind": "other", "last_name": "Martin", "first_name": "Louise",
                      "message": "Pas de codes."}, 200)),
}


@pytest.mark.parametrize("settings", [
    {"ACCOUNTS_RATE_LIMITS": f"{scope}=3/minute"} for scope in ATTEMPTS
], indirect=True, ids=list(ATTEMPTS))
@pytest.mark.parametrize("first", ["api", "page"])
def test_the_api_and_the_page_share_each_rate_limit_exactly(app, settings, first):
    [scope] = settings.rate_limits
    (api_path, body, api_status), (page, fields, page_status) = ATTEMPTS[scope]
    api, browser = app.test_client(), Browser(app.test_client())
    tries = {"api": lambda: api.post(api_path, json=body),
             "page": lambda: browser.post(page, **fields)}
    other = "page" if first == "api" else "api"
    answers = [tries[kind]() for kind in (first, other, first, other, first)]
    statuses = {"api": api_status, "page": page_status}
    assert [a.status_code for a in answers[:3]] == [statuses[k] for k in (first, other, first)]
    limited = {other: answers[3], first: answers[4]}  # the 4th and the 5th attempts
    assert limited["api"].status_code == 429 and limited["api"].json["code"] == "rate_limited"
    assert limited["page"].status_code == 429 and limited["page"].mimetype == "text/html"
    assert MESSAGES["rate_limited"] in text(limited["page"])
    assert int(limited["page"].headers["Retry-After"]) > 0


def test_no_journey_puts_a_secret_or_personal_data_in_a_url(app, client, services, monkeypatch):
    tokens = opened_tokens(services, monkeypatch)
    browser = Browser(app.test_client())
    done = browser.follow(browser.post("/activer", **REGISTRATION_FORM))
    assert "/activer/suivi/" in browser.urls[-2] and done.status_code == 200
    identifier, temporary = credentials(inbox(services)[0])
    browser.follow(browser.sign_in(identifier, temporary))
    browser.follow(browser.post("/mon-espace/nouveau-mot-de-passe", current_password=temporary,
                                new_password=OWN_PASSWORD))
    infos = "/mon-espace/infos"
    browser.follow(browser.post(f"{infos}/email", page=infos, new_email=NEW_EMAIL,
                                password=OWN_PASSWORD))
    code = code_sent(services)
    assert "Adresse e-mail confirmée" in text(browser.post("/verification-email", token=code))
    browser.follow(browser.post(f"{infos}/mot-de-passe", page=infos,
                                current_password=OWN_PASSWORD, new_password=OTHER))
    browser.follow(browser.post(f"{infos}/question", page=infos, question="Mon chien ?",
                                answer=ANSWER, password=OTHER))
    browser.follow(browser.post(f"{infos}/alertes", page=infos, reimbursements="on"))
    assert browser.get("/mon-espace/remboursements").status_code == 200
    browser.follow(browser.post("/deconnexion", page=SPACE))
    assert browser.post("/codes-oublies", **RECOVERY_FORM).status_code == 200
    [(_, recovered)] = [credentials(m) for m in inbox(services) if "temporaire" in text_of(m)]
    browser.follow(browser.sign_in(identifier, recovered))
    browser.follow(browser.post("/mon-espace/nouveau-mot-de-passe", current_password=recovered,
                                new_password=OWN_PASSWORD))
    assert browser.post("/mon-espace/fermeture", password=OWN_PASSWORD).status_code == 200
    browser.follow(browser.post("/deconnexion", page=SPACE))
    assert browser.post("/contact", kind="other", last_name="Dupré-Lefèvre", first_name="Hélène",
                        message="Merci.", identifier=identifier,
                        email=NEW_EMAIL).status_code == 200
    assert len(tokens) == 2  # two sign-ins
    secrets = [temporary, recovered, OWN_PASSWORD, OTHER, code, ANSWER, identifier, *tokens,
               HELENE["email"], NEW_EMAIL, "M1000001", "Hélène", "Dupré", "1978-04-12",
               "12/04/1978", "helene"]
    urls = [unquote(url) for url in browser.urls]
    assert not [(s, u) for u in urls for s in secrets if s.lower() in u.lower()]


def test_no_refused_form_shows_the_password_or_secret_typed(app, signed_in, member):
    weak = f"{member.identifier}-Zanzibar"
    refusals = [  # (path, form page, fields, status): 4 wrong passwords, under the lockout
        (SIGN_IN, "/contact", {"identifier": member.identifier, "password": SECRET}, 401),
        ("/activer", None, {**REGISTRATION_FORM, "email": "x@localhost",
                            "secret_question": "Mon chien ?", "secret_answer": SECRET}, 422),
        ("/codes-oublies", None, {**IDENTITY, "birth_date": "hier", "new_email": NEW_EMAIL,
                                  "secret_answer": SECRET}, 422),
        ("/verification-email", None, {"token": SECRET}, 404),
        ("/mon-espace/infos/email", "/mon-espace/infos",
         {"new_email": "x@localhost", "password": SECRET}, 422),
        ("/mon-espace/infos/mot-de-passe", "/mon-espace/infos",
         {"current_password": SECRET, "new_password": SECRET_TOO}, 422),
        ("/mon-espace/infos/mot-de-passe", "/mon-espace/infos",
         {"current_password": member.password, "new_password": weak}, 422),
        ("/mon-espace/infos/question", "/mon-espace/infos",
         {"question": "Mon chien ?", "answer": SECRET_TOO, "password": SECRET}, 422),
        ("/mon-espace/fermeture", None, {"password": SECRET}, 422),
    ]
    for path, page, fields, status in refusals:
        refused = signed_in.post(path, page=page, **fields)
        assert refused.status_code == status, (path, refused.status_code)
        shown = text(refused)
        assert 'role="alert"' in shown, path
        echoed = [s for s in (SECRET, SECRET_TOO, weak, member.password) if s in shown]
        assert echoed == [], (path, echoed)
