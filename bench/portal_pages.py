"""The member portal's pages under 16 concurrent clients: each page's p99 against /healthz p99
measured just before and just after it, in the same run (issue 17: ≤ 3).

    python -m bench.portal_pages [--quick]      (PostgreSQL, Redis, wrk)

The Procfile's web, worker and projections processes on a scratch PostgreSQL database, with
e-mails as files. 16 health principals register through the API, read their credentials
e-mail, sign in through /connexion and set their own password on the forced-change page, as a
browser would; the claims feed pays each a few reimbursements. Then wrk (16 connections, 2
threads): /healthz, a page, /healthz, the next page, … Public pages are fetched without a
cookie (a first visit); signed-in pages with the 16 members' cookies in turn, as 16 members
(every request updates its session's row, the idle expiry: 16 clients of one member would
queue on that one row's lock; make bench's /me figure also uses 16 members). wrk, not a Python
client: 16 Python threads on 2 cores would take CPU from the server (wrk uses about 0.02 of a
core here, reported with each figure).
Writes bench/results/portal-pages.md.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from datetime import UTC, date, datetime, timedelta
from email import message_from_bytes, policy
from pathlib import Path

import psycopg
import redis
import requests

from bench import wrk
from bench.layout import ROOT, Layout, free_port, layout_env, scratch_database, web_processes
from bench.limits import PASSWORD
from bench.report import machine

RESULTS = ROOT / "bench" / "results" / "portal-pages.md"
REDIS = "redis://127.0.0.1:6379/11"  # benches use 12 to 15
MEMBERS = 16
CLAIMS = 8  # reimbursements per member: the page shows rows, as a member's year would
PUBLIC = ("/", "/activer", "/connexion", "/codes-oublies", "/contact")
SIGNED_IN = ("/mon-espace", "/mon-espace/remboursements", "/mon-espace/infos")
BOUND = 3.0
CLOCK = os.sysconf("SC_CLK_TCK")
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
IDENTIFIER = re.compile(r"^Identifiant : (\d{8})$", re.M)
TEMPORARY = re.compile(r"^Mot de passe temporaire : (\S+)$", re.M)
COLUMNS = ("member_number,last_name,first_name,birth_date,health_contract_id,"
           "health_contract_type,health_role,principal_member_number,relation,retirement")

# A page, with the cookies of lines 2.. in turn (none: no cookie). wrk counts only statuses
# ≥ 400 as errors: a 302 to /connexion (a lost session) must count too, so each thread counts
# its non-2xx answers itself and `done` adds them up. The JSON is bench/wrk.py's.
wrk.SCRIPTS["portal_page"] = """
local threads = {}
setup = function(thread)
  thread:set("id", #threads)
  threads[#threads + 1] = thread
end
init = function(args)
  local path, cookies = nil, {}
  for line in io.lines(args[1]) do
    if path == nil then path = line else cookies[#cookies + 1] = line end
  end
  prepared, counter, bad = {}, 0, 0
  if #cookies == 0 then prepared[1] = wrk.format("GET", path, {Accept = "text/html"}) end
  for i, cookie in ipairs(cookies) do
    prepared[i] = wrk.format("GET", path, {Accept = "text/html", Cookie = cookie})
  end
end
request = function()
  counter = counter + 1
  return prepared[(counter + id) % #prepared + 1]
end
response = function(status, headers, body)
  if status < 200 or status > 299 then bad = bad + 1 end
end
done = function(summary, latency, requests)
  local non_2xx = 0
  for _, thread in ipairs(threads) do non_2xx = non_2xx + thread:get("bad") end
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "non_2xx": %d, "socket_errors": %d,'
    .. ' "p50_us": %d, "p99_us": %d}\\n',
    summary.requests, summary.duration, non_2xx,
    summary.errors.connect + summary.errors.read + summary.errors.write
    + summary.errors.timeout, latency:percentile(50), latency:percentile(99)))
end
"""


def members() -> list[tuple[str, str, str, date, str]]:
    """Health principals, each on a contract of their own (the reimbursements page's rule)."""
    return [(f"P{n:07d}", "Martin", "Camille", date(1960, 1, 1) + timedelta(days=n),
             f"SANTE-BENCH-{n}") for n in range(MEMBERS)]


def flask(env: dict, *args: str) -> str:
    return subprocess.run([sys.executable, "-m", "flask", "--app", "app", *args], cwd=ROOT,
                          env=env, check=True, capture_output=True, text=True).stdout


def prepare_directory(tmp: str, env: dict) -> str:
    """The members in the directory; returns a claims feed token (staff create's last line)."""
    path = Path(tmp) / "members.csv"
    path.write_text("\n".join([COLUMNS, *(
        f"{number},{last},{first},{born.isoformat()},{contract},individual,principal,,,"
        for number, last, first, born, contract in members())]) + "\n", encoding="utf-8")
    flask(env, "directory", "import", str(path))
    return flask(env, "staff", "create", "bench-claims", "--role", "claims").split()[-1]


def credentials(mail: Path, email: str) -> tuple[str, str]:
    """The identifier and temporary password of the credentials e-mail the worker wrote."""
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        for path in mail.glob("*.eml"):
            message = message_from_bytes(path.read_bytes(), policy=policy.default)
            text = message.get_body(("plain",)).get_content()
            if message["To"] == email and TEMPORARY.search(text):
                return IDENTIFIER.search(text).group(1), TEMPORARY.search(text).group(1)
        time.sleep(0.2)
    raise SystemExit(f"no credentials e-mail for {email} in {mail}")


def posted(browser: requests.Session, url: str, form: dict[str, str]) -> str:
    """GETs the form, POSTs it with its CSRF token; returns where the answer redirects."""
    token = CSRF.search(browser.get(url).text).group(1)
    answer = browser.post(url, data={**form, "csrf_token": token}, allow_redirects=False)
    if answer.status_code != 302:
        raise SystemExit(f"POST {url}: {answer.status_code}\n{answer.text[:2000]}")
    return answer.headers["Location"]


def signed_in(url: str, mail: Path, claims: str, member: tuple) -> str:
    """Registers, signs in through the pages, sets a password, gets paid: the Cookie header."""
    number, last, first, born, contract = member
    email = f"{number.lower()}@example.org"
    browser = requests.Session()
    answer = browser.post(f"{url}/api/v1/registrations", json={
        "member_number": number, "last_name": last, "first_name": first,
        "birth_date": born.isoformat(), "email": email})
    assert answer.status_code == 201 and answer.json()["status"] == "accepted", answer.text
    identifier, temporary = credentials(mail, email)
    where = posted(browser, f"{url}/connexion", {"identifier": identifier, "password": temporary})
    assert where.endswith("/mon-espace/nouveau-mot-de-passe"), where
    where = posted(browser, url + where, {"current_password": temporary, "new_password": PASSWORD})
    assert where.endswith("/mon-espace"), where
    now = datetime.now(UTC)
    for n in range(CLAIMS):
        paid = now - timedelta(days=20 * n + 1)
        answer = browser.post(f"{url}/api/v1/internal/reimbursements", json={
            "reimbursement_id": f"{number}-{n}", "member_number": number,
            "contract_id": contract, "label": "Consultation", "amount": "25.00",
            "care_date": (paid - timedelta(days=3)).date().isoformat(),
            "paid_at": paid.isoformat()}, headers={"Authorization": f"Bearer {claims}"})
        assert answer.status_code == 202, answer.text
    # Each page once, as the browser would: the flash message is read, the session cookie
    # settles (it changes no more), then the projection's rows are waited for.
    for path in SIGNED_IN:
        browser.get(url + path)
    cookie = f"session={browser.cookies['session']}"
    deadline = time.monotonic() + 120
    while probe(url, "/mon-espace/remboursements", cookie)[2] < CLAIMS:
        if time.monotonic() > deadline:
            raise SystemExit(f"{number}: the reimbursements never reached the page")
        time.sleep(0.2)
    return cookie


def probe(url: str, path: str, cookie: str | None) -> tuple[int, bool, int]:
    """One request as wrk sends it: status, whether it writes the cookie, table rows."""
    headers = {"Accept": "text/html", **({"Cookie": cookie} if cookie else {})}
    answer = requests.get(url + path, allow_redirects=False, headers=headers, timeout=30)
    return answer.status_code, "Set-Cookie" in answer.headers, answer.text.count('"amount">') - 1


def database_cpu(url: str) -> float:
    """CPU seconds of the PostgreSQL backends serving this database: the server is shared
    with other work on this machine, so not every postgres process is ours."""
    with psycopg.connect(url, autocommit=True) as connection:
        pids = [row[0] for row in connection.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
            " AND pid <> pg_backend_pid()")]
    total = 0.0
    for pid in pids:
        with suppress(OSError):  # a connection closed meanwhile
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / CLOCK
    return total


def cpu(layout: Layout) -> tuple[float, float, float]:
    """CPU seconds so far: the machine's busy time, ours (processes and backends), wrk's."""
    fields = [int(f) for f in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:8]]
    children = resource.getrusage(resource.RUSAGE_CHILDREN)  # wrk, once waited for
    return ((sum(fields) - fields[3] - fields[4]) / CLOCK, layout.cpu_seconds()
            + database_cpu(layout.env["ACCOUNTS_DATABASE_URL"]),
            children.ru_utime + children.ru_stime)


def load(layout: Layout, path: str, cookies: list[str], seconds: int) -> dict:
    """wrk on one path, once the service is idle; the cores the service, wrk and the rest of
    the machine (other people's work: it moves the figures) used meanwhile."""
    layout.settle()
    before = cpu(layout)
    if path == "/healthz":
        result = wrk.run(layout.url, "healthz", seconds)
    else:
        result = wrk.run(layout.url, "portal_page", seconds, lines=[path, *cookies])
    busy, server, client = (b - a for a, b in zip(before, cpu(layout), strict=True))
    cores = [used / result.seconds for used in (server, client, busy - server - client)]
    return {"load": result, "cores": cores}


def measure(
    layout: Layout, cookies: list[str], quick: bool, only: list[str] | None = None
) -> tuple[list, list]:
    """/healthz, page, /healthz, page, …, /healthz: each page between two limits."""
    pages = [(path, []) for path in PUBLIC] + [(path, cookies) for path in SIGNED_IN]
    pages = [(path, jar) for path, jar in pages if not only or path in only]
    for path, jar in pages:  # templates compiled and caches filled in every worker
        load(layout, path, jar, 2)
    healthz = [load(layout, "/healthz", [], 3 if quick else 10)]
    rows = []
    for path, jar in pages:
        rows.append((path, load(layout, path, jar, 3 if quick else 20),
                     probe(layout.url, path, jar[0] if jar else None)))
        healthz.append(load(layout, "/healthz", [], 3 if quick else 10))
    return rows, healthz


def table(rows: list, healthz: list) -> tuple[list[str], bool]:
    lines = ["| page | requests | p50 ms | p99 ms | /healthz p99 ms before / after"
             " | ratio before / after | ≤ 3 (worse ratio) | non-2xx | sets a cookie"
             " | cores: service / wrk / others |", "|---|---|---|---|---|---|---|---|---|---|"]
    passed = True
    for (path, run, (status, sets_cookie, _)), before, after in zip(
            rows, healthz, healthz[1:], strict=False):
        page, limits = run["load"], (before["load"].p99_ms, after["load"].p99_ms)
        ratios = [page.p99_ms / limit for limit in limits]
        bad = page.non_2xx + page.socket_errors
        lost = path in SIGNED_IN and status != 200  # the cookie no longer signs the member in
        met = max(ratios) <= BOUND and bad == 0 and not lost
        cores = " / ".join(f"{c:.2f}" for c in run["cores"])
        passed &= met
        lines.append(
            f"| {path} | {page.requests:,} | {page.p50_ms:.1f} | {page.p99_ms:.1f}"
            f" | {limits[0]:.1f} / {limits[1]:.1f} | {ratios[0]:.2f} / {ratios[1]:.2f}"
            f" | {'yes' if met else '**no**'} | {bad}{' (cookie lost)' if lost else ''}"
            f" | {'yes' if sets_cookie else 'no'} | {cores} |")
    return lines, passed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="3-second loads: a check it runs")
    parser.add_argument("--pages", nargs="+", metavar="PATH", choices=(*PUBLIC, *SIGNED_IN),
                        help="only these pages (to compare settings page by page)")
    args = parser.parse_args()
    if not wrk.available():
        raise SystemExit("wrk is needed: apt-get install wrk")
    redis.Redis.from_url(REDIS).flushdb()
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp, scratch_database() as database_url:
        env = layout_env(tmp, database_url, REDIS, free_port(), free_port())
        env["ACCOUNTS_MAIL_URL"] = f"file://{tmp}/mail"
        claims = prepare_directory(tmp, env)
        with Layout(tmp, env, ("web", "worker", "projections")) as layout:
            with ThreadPoolExecutor(4) as pool:  # bcrypt at cost 12: the set-up's slow part
                cookies = list(pool.map(lambda m: signed_in(layout.url, Path(tmp) / "mail",
                                                            claims, m), members()))
            prepared = time.monotonic() - started
            rows, healthz = measure(layout, cookies, args.quick, args.pages)
    lines, passed = table(rows, healthz)
    seconds = "3" if args.quick else "20 (pages) and 10 (/healthz)"
    text = "\n".join([
        "# Portal pages: p99 under 16 clients against /healthz p99 in the same run", "",
        "`python -m bench.portal_pages" + (" --quick" if args.quick else "") + "`", "",
        *machine(),
        f"- gunicorn (the Procfile's web: {web_processes()}), dramatiq worker and"
        f" projection runner on a scratch PostgreSQL database; wrk, 16 connections, 2 threads,"
        f" {seconds} s per load; {MEMBERS} signed-in members with {CLAIMS} reimbursements each"
        f" (set-up {prepared:.0f} s, whole run {time.monotonic() - started:.0f} s)",
        "- public pages without a cookie (a first visit); signed-in pages with the members'"
        " cookies in turn; /healthz measured before and after each page, the verdict against"
        " the worse ratio, and 0 non-2xx answers required (a redirect to /connexion counts)",
        "- cores (of 2) used during each page's load by the service (gunicorn, worker, runner,"
        " and the PostgreSQL backends of its database), by wrk, and by everything else on the"
        " machine (other work, which moves the figures: hence /healthz on both sides)",
        "", *lines, "",
        f"Every page ≤ {BOUND:g} × /healthz p99: {'yes' if passed else '**no**'}.",
    ])
    RESULTS.write_text(text + "\n", encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
