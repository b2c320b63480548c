"""Screenshots of the console, for docs/console/ and the README: a throwaway service (SQLite,
e-mails as files) in a thread, Debian's Chromium through Playwright, an agent then an
auditor at work. Run `.venv/bin/python -m demo.console_screenshots [OUT_DIR]`.

Each page is also checked with axe-core (WCAG 2.1 A/AA), as demo/portal_screenshots.py does:
any violation is named and the script exits 1.
"""

from __future__ import annotations

import re
import sys
import tempfile
from datetime import datetime
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

from adapters.mail_french import PARIS
from demo.portal_screenshots import NEW_PASSWORD, ROOT, Shots, last_mail, serve

HELENE = {"member_number": "M1000001", "last_name": "Dupré-Lefèvre", "first_name": "Hélène",
          "birth_date": "1978-04-12", "email": "helene@example.org"}
REVIEW = {"member_number": "M1000005", "last_name": "Ndiaye", "first_name": "Aminta",
          "birth_date": "1985-06-03", "email": "aminata@example.org"}
LOUISE = {"kind": "other", "last_name": "Martin", "first_name": "Louise",
          "email": "louise@example.org", "message": "Je ne reçois pas mes codes d'accès."}


def seeded(page: Page, base: str, work: Path) -> dict[str, str]:
    """A review, a question to support, an e-mail update and a closure in the queue; the
    closure's member is Hélène, whose account the auditor reads afterwards."""
    api = page.request
    assert api.post(base + "/api/v1/registrations", data=REVIEW).ok
    assert api.post(base + "/api/v1/support-requests", data=LOUISE).ok
    assert api.post(base + "/api/v1/registrations", data=HELENE).ok
    page.wait_for_timeout(1500)  # the embedded queue sends the e-mail in the background
    body = last_mail(work)
    identifier = re.search(r"^Identifiant : (\d{8})$", body, re.M).group(1)
    temporary = re.search(r"^Mot de passe temporaire : (\S+)$", body, re.M).group(1)
    token = api.post(base + "/api/v1/sessions", data={
        "identifier": identifier, "password": temporary}).json()["token"]
    member = {"Authorization": f"Bearer {token}"}
    assert api.put(base + "/api/v1/me/password", headers=member, data={
        "current_password": temporary, "new_password": NEW_PASSWORD}).ok
    token = api.post(base + "/api/v1/sessions", data={
        "identifier": identifier, "password": NEW_PASSWORD}).json()["token"]
    member = {"Authorization": f"Bearer {token}"}
    assert api.put(base + "/api/v1/me/alerts", headers=member,
                   data={"reimbursements": True}).ok
    # The console reads instants as an auditor types them: Paris time, to the minute, and
    # each state takes in the events of its minute: the closure comes a minute later.
    before = datetime.now(PARIS).strftime("%Y-%m-%dT%H:%M")
    page.wait_for_timeout((61 - datetime.now(PARIS).second) * 1000)
    assert api.post(base + "/api/v1/support-requests", data={
        "kind": "email_update", "last_name": HELENE["last_name"],
        "first_name": HELENE["first_name"], "member_number": HELENE["member_number"],
        "birth_date": HELENE["birth_date"], "new_email": "helene.dupre@example.org",
        "message": "J'ai changé de fournisseur d'accès."}).ok
    assert api.post(base + "/api/v1/me/closure", headers=member,
                    data={"password": NEW_PASSWORD}).ok
    page.wait_for_timeout(1500)  # the support queue's read model catches up in the background
    return {"identifier": identifier, "before": before}


def agent(page: Page, base: str, token: str, shots: Shots, told: dict[str, str]) -> None:
    page.goto(base + "/support/")
    shots.take("01-connexion")
    page.get_by_label("Jeton d'accès").fill(token)
    page.get_by_role("button", name="Se connecter").click()
    shots.take("02-file-et-graphique")
    page.goto(base + "/support/queue?kind=identity_review")
    page.get_by_role("link", name="Ouvrir").first.click()
    shots.take("03-verification-identite")
    page.get_by_label("Motif").select_option(label="Identité confirmée par un justificatif")
    page.get_by_label("Note").fill("Carte d'identité reçue par courrier : prénom Aminata.")
    page.get_by_role("button", name="Approuver", exact=True).click()
    shots.take("04-identite-approuvee")
    page.goto(base + "/support/queue?kind=closure")
    page.get_by_role("link", name="Ouvrir").first.click()
    page.get_by_label("Motif").select_option(index=1)
    page.get_by_label("Note").fill("Demande faite depuis l'Espace Client.")
    page.get_by_role("button", name="Accepter", exact=True).click()
    shots.take("05-cloture-confirmation")
    page.get_by_role("button", name="Accepter", exact=True).click()
    page.goto(base + "/support/queue?kind=other")
    page.get_by_role("link", name="Ouvrir").first.click()
    shots.take("06-autre-demande")
    page.goto(base + "/support/queue?status=closed")
    shots.take("07-traites")
    page.goto(base + f"/support/accounts/{told['identifier']}")
    shots.take("08-compte-cloture")
    page.get_by_role("button", name="Se déconnecter").click()


def auditor(page: Page, base: str, token: str, shots: Shots, told: dict[str, str]) -> None:
    page.goto(base + "/support/")
    page.get_by_label("Jeton d'accès").fill(token)
    page.get_by_role("button", name="Se connecter").click()
    shots.take("09-audit-accueil")
    identifier = told["identifier"]
    page.goto(base + f"/support/audit/accounts/{identifier}")
    shots.take("10-audit-chronologie")
    now = datetime.now(PARIS).strftime("%Y-%m-%dT%H:%M")
    page.goto(base + f"/support/audit/accounts/{identifier}/changes?from={told['before']}"
              f"&to={now}")
    shots.take("11-audit-comparaison")
    page.goto(base + "/support/audit/events")
    shots.take("12-audit-journal")
    page.goto(base + "/support/audit/verification")
    shots.take("13-audit-verification")


def main() -> int:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs" / "console"
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as playwright:
        base, services, server = serve(Path(tmp))
        support = services.staff_tokens.create("Camille Martin", "support")
        audit = services.staff_tokens.create("Inès Auditrice", "auditor")
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium",
                                             args=["--no-sandbox"])
        page = browser.new_page(locale="fr-FR", viewport={"width": 1280, "height": 800})
        shots = Shots(page, out)
        told = seeded(page, base, Path(tmp))
        agent(page, base, support, shots, told)
        server.app.test_cli_runner().invoke(args=["audit", "checkpoint"])  # one published
        server.app.test_cli_runner().invoke(args=["audit", "verify"])
        auditor(page, base, audit, shots, told)
        browser.close()
        server.shutdown()
    for problem in shots.problems:
        print(problem)
    print(f"{len(list(out.glob('*.png')))} screenshots in {out}; "
          f"{len(shots.problems)} accessibility problem(s)")
    return 1 if shots.problems else 0


if __name__ == "__main__":
    sys.exit(main())
