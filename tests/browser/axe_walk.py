"""The walker the accessibility tests share: `Audit` checks the page the browser shows with
axe-core's WCAG 2.1 A and AA rules and with STRUCTURE (one <h1>, lang="fr", a <title>, and,
where input is refused, a role="alert" summary linking to existing fields, each invalid field
tied by aria-describedby to its own message, which the summary repeats), and keeps what it
checked and found. Problems are collected, not raised at the first, so that one run names them
all. `portal_audit` and `console_audit` set it up for the member's pages and for the staff's.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Response
from werkzeug.exceptions import HTTPException

from tests.browser.conftest import Portal

AXE = Axe()
WCAG_21_AA = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]},
              "resultTypes": ["violations"]}
# What every page must have, and a refused form's alert, summary and field messages (kind:
# "page", "alert" for a role="alert" message, "fields" for errors tied to fields). `checks`
# names the further checks a walk asks for: "skip-link" (the first in-page link leads to
# <main>), "no-inline" (no style attribute, <style> or <script>), "labels" (a <label> for
# every field), "email-autocomplete" (a member's own address, WCAG 1.3.5).
STRUCTURE = """({kind, checks}) => {
  const problems = [];
  const byId = (id) => document.getElementById(id);
  const h1 = document.querySelectorAll('h1').length;
  if (h1 !== 1) problems.push(`${h1} <h1> instead of one`);
  const lang = document.documentElement.getAttribute('lang');
  if (lang !== 'fr') problems.push(`<html lang="${lang}">, not "fr"`);
  if (!document.title.trim()) problems.push('empty <title>');
  if (checks.includes('skip-link')) {
    const skip = document.querySelector('a[href^="#"]');
    const main = document.querySelector('main');
    if (!skip || !main || skip.getAttribute('href') !== `#${main.id}`)
      problems.push('the first in-page link is not a skip link to <main>');
  }
  if (checks.includes('no-inline'))
    for (const styled of document.querySelectorAll('[style], style, script'))
      problems.push(`inline style or script: <${styled.tagName.toLowerCase()}>`);
  if (checks.includes('labels'))
    for (const input of document.querySelectorAll('input:not([type="hidden"]), textarea, select'))
      if (!input.id || !document.querySelector(`label[for="${input.id}"]`))
        problems.push(`a field without its <label>: ${input.name}`);
  const notEmail = 'input[type="email"]:not([autocomplete="email"])';
  if (checks.includes('email-autocomplete'))
    for (const input of document.querySelectorAll(notEmail))
      problems.push(`#${input.id}: an e-mail field without autocomplete="email" (WCAG 1.3.5)`);
  if (kind !== 'page' && !document.querySelector('[role="alert"]'))
    problems.push('no role="alert"');
  if (kind === 'fields' && !document.querySelector('.error-summary[role="alert"]'))
    problems.push('no error summary');
  if (kind === 'fields' && !/^Erreur\\s*:/.test(document.title))
    problems.push(`a refused form's <title> does not start with "Erreur :": ${document.title}`);
  for (const link of document.querySelectorAll('[role="alert"] a[href^="#"]')) {
    const target = byId(link.getAttribute('href').slice(1));
    if (!target || !target.matches('input, select, textarea'))
      problems.push(`the summary links to ${link.getAttribute('href')}: no such field`);
  }
  for (const box of document.querySelectorAll('.field-error')) {
    const tied = [...document.querySelectorAll('[aria-describedby]')].filter(
      (e) => e.getAttribute('aria-describedby').split(/\\s+/).includes(box.id));
    if (!box.id || !tied.length) problems.push(`a field message tied to no field: ${box.id}`);
    for (const e of tied.filter((e) => e.matches('input, select, textarea')))
      if (e.getAttribute('aria-invalid') !== 'true')
        problems.push(`#${e.id} has a message (#${box.id}) but no aria-invalid="true"`);
  }
  const invalid = [...document.querySelectorAll('[aria-invalid="true"]')];
  if (kind === 'fields' && !invalid.length) problems.push('no field has aria-invalid="true"');
  for (const input of invalid) {
    const ids = (input.getAttribute('aria-describedby') || '').split(/\\s+/).filter(Boolean);
    for (const id of ids.filter((id) => !byId(id)))
      problems.push(`#${input.id}: aria-describedby names #${id}, which does not exist`);
    const box = ids.map(byId).find((e) => e && e.classList.contains('field-error'));
    const messages = box ? [...box.querySelectorAll('p, li')].map(
      (e) => e.textContent.replace(/^\\s*Erreur\\s*:/, '').trim()).filter(Boolean) : [];
    if (!messages.length) problems.push(`#${input.id}: no message in its aria-describedby`);
    if (box && !/^\\s*Erreur\\s*:/.test(box.textContent))
      problems.push(`#${input.id}: its message does not start with "Erreur :" (hidden prefix)`);
    const link = document.querySelector(`.error-summary a[href="#${input.id}"]`);
    if (!link) problems.push(`#${input.id}: the error summary does not link to it`);
    for (const message of messages)
      if (link && !link.textContent.includes(message))
        problems.push(`#${input.id}: the summary does not say "${message}"`);
  }
  return problems;
}"""


@dataclass
class Audit:
    """Checks the page the browser shows, and keeps what it checked and found: each (page,
    state, status), the endpoints on the way (redirects count) and the problems."""

    portal: Portal
    app: object
    checks: tuple[str, ...] = ()  # STRUCTURE's further checks, by name
    refusals: tuple[str, ...] = ("fields",)  # the kinds of state that must answer 4xx
    with_method: bool = False  # a page named "GET /path/<rule>" rather than "/path/<rule>"
    checked: list[tuple[str, str, int]] = field(default_factory=list)  # (page, state, status)
    endpoints: set[str] = field(default_factory=set)
    problems: list[str] = field(default_factory=list)

    def __call__(self, response: Response, state: str, kind: str = "page") -> None:
        page = self.portal.page
        name = self.served_by(response) or urlsplit(page.url).path
        for violation in AXE.run(page, options=WCAG_21_AA).response["violations"]:
            targets = [" ".join(map(str, node["target"])) for node in violation["nodes"]]
            self.problems.append(f"{name} [{state}]: axe {violation['id']} "
                                 f"({violation['impact']}): {violation['help']} — {targets}")
        problems = page.evaluate(STRUCTURE, {"kind": kind, "checks": list(self.checks)})
        status = response.status
        if (kind == "page" and status != 200) or (kind in self.refusals and status < 400):
            problems.append(f"answered {status}: not the state the walk names")
        self.problems.extend(f"{name} [{state}]: {problem}" for problem in problems)
        self.checked.append((name, state, status))

    def served_by(self, response: Response) -> str | None:
        """The rule of the page shown; every endpoint on its way (redirects) counts as seen."""
        adapter = self.app.url_map.bind("localhost")
        request, shown = response.request, None
        while request is not None:
            try:
                rule, _ = adapter.match(urlsplit(request.url).path, method=request.method,
                                        return_rule=True)
            except HTTPException:  # an unknown path: the 404 page
                rule = None
            if rule is not None:
                self.endpoints.add(rule.endpoint)
                shown = shown or (f"{request.method} {rule.rule}" if self.with_method
                                  else rule.rule)
            request = request.redirected_from
        return shown

    @property
    def statuses(self) -> set[int]:
        return {status for _, _, status in self.checked}

    @contextmanager
    def listing(self, walk: str = "") -> Iterator[Audit]:
        """Prints every (page, state) checked when the block ends, even by a failure."""
        try:
            yield self
        finally:
            print(f"\n{len(self.checked)} (page, state) checked by axe"
                  f"{f' ({walk})' if walk else ''}:")
            for name, state, status in self.checked:
                print(f"  {status} {name} [{state}]")


def portal_audit(portal: Portal, app: object) -> Audit:
    """The member's pages: an e-mail field is the member's own, so it is completed
    (autocomplete="email"); a refusal in words only (role="alert") may answer 200."""
    return Audit(portal, app, checks=("email-autocomplete",))


def console_audit(portal: Portal, app: object) -> Audit:
    """The staff's pages: a skip link to <main>, nothing inline, a <label> for every field, and
    every refusal a 4xx; pages named with their method (a form posts to its own rule)."""
    return Audit(portal, app, checks=("skip-link", "no-inline", "labels"),
                 refusals=("alert", "fields"), with_method=True)
