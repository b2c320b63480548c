"""The page « Sécurité » (CONTRACT.md, "Members in control"): the connected devices, one
ended, all the others ended, the download of the member's data; forms CSRF-checked; the
contract's names exactly."""

from __future__ import annotations

import re

from tests.api.page_browser import SIGN_IN, SPACE, Browser, stored, text, went_to
from tests.api.test_member_sessions import IPHONE, WINDOWS, signed_in_from
from tests.helpers import assert_error, recorded

SECURITY = "/mon-espace/securite"
DOWNLOAD = "/mon-espace/mes-donnees.json"
END_ONE, END_OTHERS = f"{SECURITY}/appareil", f"{SECURITY}/autres-appareils"
BUTTON = re.compile(r'<button type="submit"[^>]*aria-describedby="([^"]+)"[^>]*>([^<]+)</button>')


def in_chrome(browser: Browser) -> Browser:
    browser.client.environ_base["HTTP_USER_AGENT"] = WINDOWS
    return browser


def end_form_of(page: str, device: str) -> dict[str, str]:
    """The fields of the form whose button is described by that device's name."""
    for form in re.findall(r'<form method="post" action="[^"]+">(.*?)</form>', page, re.S):
        described = re.search(r'aria-describedby="([^"]+)"', form)
        if described and re.search(rf'id="{described.group(1)}">{re.escape(device)}<', page):
            return {"session_id": re.search(r'name="session_id" value="([^"]+)"', form)[1]}
    raise AssertionError(f"no form for {device}")


def test_the_page_lists_the_devices_with_the_contracts_names(app, member):
    browser = in_chrome(Browser(app.test_client()))
    went_to(browser.sign_in(member.identifier, member.password), SPACE)
    assert f'href="{SECURITY}"' in text(browser.get(SPACE))

    page = text(browser.get(SECURITY))

    assert "<title>Sécurité – Espace Client</title>" in page
    assert re.findall(r"<h1>(.*?)</h1>", page) == ["Sécurité"]
    assert '<h2 id="appareils">Appareils connectés</h2>' in page
    assert "Chrome 131 sur Windows" in page and "<strong>Cet appareil</strong>" in page
    buttons = BUTTON.findall(page)
    # open_account's two API sessions, each with its own button described by its device
    assert [name for _, name in buttons] == ["Déconnecter cet appareil"] * 2
    assert len({described for described, _ in buttons}) == 2
    assert ">Déconnecter tous les autres appareils</button>" in page
    assert f'<a href="{DOWNLOAD}" download>Télécharger mes données</a>' in page
    assert re.search(r"\d\d/\d\d/\d{4} à \d\d h \d\d", page)


def test_disconnecting_another_device_ends_its_session(app, client, services, member):
    browser = in_chrome(Browser(app.test_client()))
    went_to(browser.sign_in(member.identifier, member.password), SPACE)
    phone = signed_in_from(client, member.identifier, IPHONE)
    fields = end_form_of(text(browser.get(SECURITY)), "Safari sur iPhone")

    went_to(browser.post(END_ONE, page=SECURITY, **fields), SECURITY)

    assert "L'appareil « Safari sur iPhone » est déconnecté." in text(browser.get(SECURITY))
    assert_error(client.get("/api/v1/me", headers=phone), 401, "authentication_required")
    assert [e.device for e in recorded(services, "SessionEnded")] == ["Safari sur iPhone"]


def test_disconnecting_all_the_others_leaves_this_browser_signed_in(app, client, member):
    browser = in_chrome(Browser(app.test_client()))
    went_to(browser.sign_in(member.identifier, member.password), SPACE)

    went_to(browser.post(END_OTHERS, page=SECURITY), SECURITY)

    page = text(browser.get(SECURITY))
    assert "Vos autres appareils sont déconnectés." in page
    assert "Déconnecter cet appareil" not in page
    assert_error(client.get("/api/v1/me", headers=member.headers), 401, "authentication_required")


def test_a_form_without_its_csrf_token_is_refused_and_records_nothing(app, client, services,
                                                                      member):
    browser = in_chrome(Browser(app.test_client()))
    went_to(browser.sign_in(member.identifier, member.password), SPACE)
    fields = end_form_of(text(browser.get(SECURITY)), "Appareil inconnu")
    before = stored(services)

    for path, data in ((END_ONE, fields), (END_OTHERS, {})):
        response = browser.client.post(path, data=data, headers={"Accept": "text/html"})
        assert response.status_code == 400
        assert "Le formulaire a expiré" in text(response)

    assert stored(services) == before
    assert client.get("/api/v1/me", headers=member.headers).status_code == 200


def test_the_download_is_the_members_data_as_an_attachment(app, services, member):
    browser = in_chrome(Browser(app.test_client()))
    went_to(browser.sign_in(member.identifier, member.password), SPACE)

    response = browser.get(DOWNLOAD)

    assert response.status_code == 200
    assert response.headers["Content-Disposition"] == (
        f'attachment; filename="mes-donnees-{member.identifier}.json"'
    )
    assert response.headers["Cache-Control"] == "no-store"
    assert response.json["account"]["identifier"] == member.identifier
    assert [s["device"] for s in response.json["sessions"] if s["current"]] == [
        "Chrome 131 sur Windows"]
    assert [e.actor for e in recorded(services, "PersonalDataExported")] == [
        f"member:{member.identifier}"]


def test_the_page_and_the_download_need_a_signed_in_member(app):
    browser = Browser(app.test_client())
    for path in (SECURITY, DOWNLOAD):
        went_to(browser.get(path), SIGN_IN)


def test_an_unknown_or_already_ended_device_says_so(app, member):
    browser = in_chrome(Browser(app.test_client()))
    went_to(browser.sign_in(member.identifier, member.password), SPACE)
    for session_id in ("inconnu", "", "x" * 500):
        went_to(browser.post(END_ONE, page=SECURITY, session_id=session_id), SECURITY)
        assert "Cet appareil était déjà déconnecté." in text(browser.get(SECURITY))


def test_disconnecting_this_very_browser_signs_it_out(app, services, member):
    browser = in_chrome(Browser(app.test_client()))
    went_to(browser.sign_in(member.identifier, member.password), SPACE)
    mine = re.search(r'name="session_id" value="([^"]+)"', text(browser.get(SECURITY)))[1]
    # No button for it on the page; a form posted by hand is a sign-out, recorded as none.
    [current] = [s for s in services.sessions.listed(
        services.lifecycle.account_by_identifier(member.identifier).id
    ) if s.user_agent == WINDOWS]
    assert current.session_id != mine
    went_to(browser.post(END_ONE, page=SECURITY, session_id=current.session_id), SIGN_IN)
    went_to(browser.get(SECURITY), SIGN_IN)
    assert recorded(services, "SessionEnded") == []
