"""Screenshots of every portal page, for docs/portal/ and the README: a throwaway service
(SQLite, e-mails as files) in a thread, Debian's Chromium through Playwright, a member walked
through the FAQ's journeys. Run `.venv/bin/python -m demo.portal_screenshots [OUT_DIR]`.

Each page is also checked with axe-core (WCAG 2.1 A/AA): the script names any violation and
exits 1, so a picture of an inaccessible page is never committed unnoticed.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
import threading
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from pathlib import Path

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, sync_playwright
from werkzeug.serving import make_server

ROOT = Path(__file__).resolve().parent.parent
TAGS = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}}
HELENE = {"Numéro d'adhérent": "M1000001", "Nom": "Dupré-Lefèvre", "Prénom": "Hélène",
          "Date de naissance": "12/04/1978", "Adresse e-mail": "helene@example.org"}
NEW_PASSWORD = "Où sont passées les clés du château ?"  # noqa: S105  (the README's example)


def serve(work: Path) -> tuple[str, object, object]:
    os.environ.update(
        ACCOUNTS_DATABASE_URL=f"sqlite:///{work / 'accounts.sqlite3'}",
        ACCOUNTS_MAIL_URL=f"file://{work / 'mail'}", ACCOUNTS_SECRET_KEY="s" * 40,
        ACCOUNTS_BCRYPT_ROUNDS="4", ACCOUNTS_RATE_LIMITS="off",
    )
    sys.path.insert(0, str(ROOT))
    from app import create_app  # noqa: PLC0415  (after the environment it reads is set)

    app = create_app()
    services = app.extensions["accounts"]
    services.directory.import_csv((ROOT / "demo" / "members.csv").read_text(encoding="utf-8"))
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_port}", services, server


def last_mail(work: Path) -> str:
    newest = sorted((work / "mail").glob("*.eml"))[-1]
    message = message_from_bytes(newest.read_bytes(), policy=policy.default)
    return message.get_body(("plain",)).get_content()


class Shots:
    def __init__(self, page: Page, out: Path):
        self.page, self.out, self.problems = page, out, []

    def take(self, name: str) -> None:
        result = Axe().run(self.page, options=TAGS)
        for violation in result.response["violations"]:
            self.problems.append(f"{name}: {violation['id']} on {len(violation['nodes'])} "
                                 f"element(s), e.g. {violation['nodes'][0]['target']}")
        self.page.screenshot(path=self.out / f"{name}.png", full_page=True)


def walk(page: Page, base: str, work: Path, services, shots: Shots) -> None:  # noqa: PLR0915
    page.goto(base + "/")
    shots.take("01-accueil")
    page.goto(base + "/activer")
    page.get_by_role("button", name="Activer mon compte").click()
    shots.take("02-activer-erreurs")
    for label, value in HELENE.items():
        page.get_by_label(label, exact=True).fill(value)
    page.get_by_role("button", name="Activer mon compte").click()
    page.wait_for_url(re.compile("/activer/suivi/"))
    shots.take("03-activer-accepte")
    page.wait_for_timeout(1500)  # the embedded queue sends the e-mail in the background
    body = last_mail(work)
    identifier = re.search(r"^Identifiant : (\d{8})$", body, re.M).group(1)
    temporary = re.search(r"^Mot de passe temporaire : (\S+)$", body, re.M).group(1)
    page.goto(base + "/activer")
    for label, value in {**HELENE, "Numéro d'adhérent": "M1000012", "Nom": "Martin",
                         "Prénom": "Louise", "Date de naissance": "05/05/1995"}.items():
        page.get_by_label(label, exact=True).fill(value)
    page.get_by_role("button", name="Activer mon compte").click()
    shots.take("04-activer-refus")
    page.goto(base + "/connexion")
    page.get_by_label("Identifiant").fill(identifier)
    page.get_by_label("Mot de passe", exact=True).fill("pas le bon")
    page.get_by_role("button", name="Se connecter", exact=True).click()
    shots.take("05-connexion-refusee")
    page.get_by_label("Mot de passe", exact=True).fill(temporary)
    page.get_by_role("button", name="Se connecter", exact=True).click()
    page.get_by_label("Mot de passe actuel").fill(temporary)
    page.get_by_label("Nouveau mot de passe").fill("motdepasse")
    page.get_by_role("button", name="Changer mon mot de passe").click()
    shots.take("06-nouveau-mot-de-passe-erreurs")
    page.get_by_label("Mot de passe actuel").fill(temporary)
    page.get_by_label("Nouveau mot de passe").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Changer mon mot de passe").click()
    shots.take("07-mon-espace")
    claims = services.staff_tokens.create("flux-sante", "claims")
    for number, (who, label, amount) in enumerate([
        ("M1000001", "Consultation généraliste", "26.50"), ("M1000003", "Orthodontie", "180.00"),
        ("M1000004", "Pharmacie", "12.30"),
    ]):
        page.request.post(base + "/api/v1/internal/reimbursements", headers={
            "Authorization": f"Bearer {claims}"}, data={
            "reimbursement_id": f"R{number}", "member_number": who,
            "contract_id": "SANTE-IND-001", "label": label,
            "care_date": (datetime.now(UTC) - timedelta(days=30 - number)).date().isoformat(),
            "paid_at": (datetime.now(UTC) - timedelta(days=20 - number)).isoformat(),
            "amount": amount})
    page.wait_for_timeout(1000)  # the portal's read model catches up in the background
    page.goto(base + "/mon-espace/remboursements")
    shots.take("08-remboursements")
    page.goto(base + "/mon-espace/infos")
    shots.take("09-modifier-mes-infos")
    section = page.get_by_role("region", name="Adresse e-mail")
    section.get_by_label("Nouvelle adresse e-mail").fill("helene.dupre@example.org")
    section.get_by_label("Mot de passe").fill("pas le bon")
    section.get_by_role("button", name="Modifier mon adresse e-mail").click()
    shots.take("10-modifier-mes-infos-erreur")
    page.goto(base + "/verification-email")
    shots.take("11-verification-email")
    page.goto(base + "/mon-espace/fermeture")
    shots.take("12-fermeture")
    page.goto(base + "/contact")
    shots.take("13-contact")
    page.goto(base + "/codes-oublies")
    shots.take("14-codes-oublies")
    page.get_by_role("button", name="Se déconnecter").click()
    shots.take("15-deconnexion")


def main() -> int:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs" / "portal"
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as playwright:
        base, services, server = serve(Path(tmp))
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium",
                                             args=["--no-sandbox"])
        page = browser.new_page(locale="fr-FR", viewport={"width": 1024, "height": 720})
        shots = Shots(page, out)
        walk(page, base, Path(tmp), services, shots)
        browser.close()
        server.shutdown()
    for problem in shots.problems:
        print(problem)
    print(f"{len(list(out.glob('*.png')))} screenshots in {out}; "
          f"{len(shots.problems)} accessibility problem(s)")
    return 1 if shots.problems else 0


if __name__ == "__main__":
    sys.exit(main())
