"""Upgrades in place: the previous release (the commit in tests/upgrade/PREVIOUS, checked out as
a git worktree) writes a database through its HTTP API; this release migrates it with
`flask --app app db upgrade` and serves it, with the previous release's staff tokens, without
losing an account, a password, a reimbursement, a queue item or a line of history, and without
sending an e-mail twice or forgetting one. On SQLite as the embedded default (one process), and
on PostgreSQL + Redis + SMTP as the Procfile lays it out, where a rolling restart (old and new
API side by side) must lose nothing it acknowledged."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import directory_csv, free_port, generated_members, read_mail
from tests.processes import service_env
from tests.upgrade.mailbox import Mailbox
from tests.upgrade.releases import HEAD, Api, Fleet, Release
from tests.upgrade.story import AUDITOR, CLAIMS, PHRASES, SUPPORT, Member, Story

PRODUCTION = ("web", "worker", "projections")  # the Procfile's lines, less the standby


@dataclass
class Deployment:
    """One database, its mail and its processes, served by one release after the other."""

    kind: str  # "embedded" (SQLite, one process) or "production" (the Procfile's processes)
    env: dict[str, str]
    mailbox: Mailbox
    fleet: Fleet
    tmp_path: Path

    def serve(self, release: Release, processes: tuple[str, ...] = PRODUCTION) -> Api:
        api = self.launch(release, processes)
        self.fleet.wait(f"the {release.name} release's API", api.healthy)
        return api

    def launch(self, release: Release, processes: tuple[str, ...] = PRODUCTION) -> Api:
        """Starts the release's processes; its API answers soon after."""
        port = free_port()
        if self.kind == "embedded":  # as `make run` does
            command = f"python -m flask --app app run --host 127.0.0.1 --port {port}"
            self.fleet.start(release, "embedded", command, self.env)
        else:
            metrics = self.tmp_path / f"metrics-{release.name}"
            metrics.mkdir(exist_ok=True)
            env = {**self.env, "PORT": str(port), "PROMETHEUS_MULTIPROC_DIR": str(metrics)}
            if release is not HEAD:
                # The previous release creates its indexes at every worker's boot, in one
                # transaction: a second worker still booting when the API already answers
                # deadlocks with its own runner's writes and takes gunicorn down ("Worker
                # failed to boot"). This release creates tables only for a new database. One
                # old worker keeps the point: old and new APIs side by side.
                env["WEB_WORKERS"] = "1"
            lines = release.procfile()
            for name in processes:
                self.fleet.start(release, name, lines[name], env)
        return Api(release.name, port, self.fleet)

    def staff_tokens(self, release: Release) -> dict[str, str]:
        return {name: release.staff_token(self.env, name, role) for name, role in (
            (SUPPORT, "support"), (CLAIMS, "claims"), (AUDITOR, "auditor"))}


def embedded(tmp_path: Path) -> Deployment:
    """The embedded default: SQLite, the in-process queue, e-mails as .eml files."""
    mail = tmp_path / "mail"
    env = service_env(f"sqlite:///{tmp_path / 'accounts.sqlite3'}", f"file://{mail}")
    return Deployment("embedded", env, Mailbox(lambda: read_mail(mail)), Fleet(tmp_path),
                      tmp_path)


def production(tmp_path: Path, postgres_url: str, redis_url: str, smtp: Any) -> Deployment:
    """PostgreSQL, Redis and a real SMTP server, with the Procfile's processes."""
    env = service_env(postgres_url, smtp.url, redis_url)
    env.update(WEB_WORKERS="2", MAIL_PROCESSES="1")
    mailbox = Mailbox(lambda: [r.message for r in smtp.handler.snapshot()])
    return Deployment("production", env, mailbox, Fleet(tmp_path), tmp_path)


@pytest.fixture(params=["sqlite", "postgres"])
def deployment(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Deployment]:
    if request.param == "sqlite":
        found = embedded(tmp_path)
    else:
        found = production(tmp_path, *(request.getfixturevalue(name) for name in (
            "postgres_url", "redis_url", "smtp_server")))
    try:
        yield found
    finally:
        found.fleet.close()


@pytest.fixture
def production_layout(
    tmp_path: Path, postgres_url: str, redis_url: str, smtp_server: Any
) -> Iterator[Deployment]:
    found = production(tmp_path, postgres_url, redis_url, smtp_server)
    try:
        yield found
    finally:
        found.fleet.close()


def upgrade(deployment: Deployment) -> None:
    """This release's migration of the tables and rebuild of changed read models."""
    HEAD.flask(deployment.env, "db", "upgrade")


def audit_verify(deployment: Deployment) -> None:
    """Exit 0, or the test fails with its PROBLEM lines."""
    HEAD.flask(deployment.env, "audit", "verify")


def test_a_database_written_by_the_previous_release_serves_after_the_upgrade(
    previous: Release, deployment: Deployment
) -> None:
    d, fleet, mailbox = deployment, deployment.fleet, deployment.mailbox
    previous.flask(d.env, "directory", "import", "demo/members.csv")
    old = d.launch(previous)
    story = Story(old, fleet, mailbox, d.staff_tokens(previous))  # while the API starts
    fleet.wait("the previous release's API", old.healthy)
    story.tell()
    mailbox.wait_all(fleet)
    story.api.settle()
    histories = story.histories(story.api)
    sent = mailbox.message_ids()
    fleet.stop_release(previous)

    upgrade(d)
    story.api = d.serve(HEAD)
    story.check(story.api, histories)
    fleet.wait("the new release's scheduled checks", lambda: fleet.checks_ran(HEAD))
    story.api.settle()
    assert mailbox.message_ids() == sent, (
        "the new release sent e-mails for the previous release's events:\n"
        + "\n".join(f"{m['To']}: {m['Subject']}" for m in mailbox.read()
                    if str(m["Message-ID"]) not in sent))

    story.register("gwen", "accepted")
    story.receive_credentials("gwen")
    assert story.sign_in("gwen")["must_change_password"] is True
    mailbox.wait_all(fleet)
    story.api.settle()
    fleet.stop_release(HEAD)
    audit_verify(d)


def test_a_rolling_restart_from_the_previous_release_loses_nothing_acknowledged(
    previous: Release, production_layout: Deployment, tmp_path: Path
) -> None:
    """docs/operations.md's order: the old API, worker and runner serve; `db upgrade` migrates
    the tables under them, builds the changed read models and waits for the runner lock; the
    new API and worker start beside the old ones, and members register on one version while
    others sign in and change their password across both (a session opened on one is used on
    the other); then the old processes stop, the new runner starts, and `db upgrade` (or that
    runner) switches the read models in and ends."""
    d, fleet, mailbox = production_layout, production_layout.fleet, production_layout.mailbox
    people = generated_members(18, "U")
    directory = tmp_path / "directory.csv"
    directory.write_text(directory_csv(people), encoding="utf-8")
    previous.flask(d.env, "directory", "import", str(directory))
    members = {
        number: Member(number, last, first, born.isoformat(), f"{number.lower()}@example.org")
        for number, last, first, born in people
    }
    keys = list(members)
    old = d.serve(previous)
    story = Story(old, fleet, mailbox, {}, members=members)
    for key in keys[:2]:
        story.register(key, "accepted")

    fleet.start(HEAD, "db-upgrade", "python -m flask --app app db upgrade", d.env, finite=True)
    new = d.serve(HEAD, processes=("web", "worker"))
    apis = (old, new)
    for turn, key in enumerate(keys[2:16]):
        here, there = apis[turn % 2], apis[(turn + 1) % 2]
        story.api = here
        story.register(key, "accepted")
        earlier = keys[turn]  # registered two turns ago, on this same API
        story.receive_credentials(earlier)
        member = members[earlier]
        session = story.api_sign_in(there, member, expect=201)
        own = PHRASES[turn % len(PHRASES)]
        here.call("PUT", "/api/v1/me/password",
                  {"current_password": member.password, "new_password": own},
                  session["token"], expect=204)
        mailbox.expect(member.email, "notice")
        member.password, member.temporary = own, False
        story.api_sign_in(there, member, expect=201)

    fleet.stop_release(previous)
    story.api = new
    for key in keys[16:]:  # no runner at all for a moment: the API still takes them
        story.register(key, "accepted")
    d.launch(HEAD, processes=("projections",))
    fleet.finish("head-db-upgrade")
    for key in keys[14:]:
        story.receive_credentials(key)
    mailbox.wait_all(fleet)  # one credentials e-mail per member, one notice per change
    assert sum(mailbox.expected.values()) == len(keys) + 14
    for member in members.values():
        session = story.api_sign_in(new, member, expect=201)
        assert session["must_change_password"] is member.temporary, member
    fleet.wait("the new runner's scheduled checks", lambda: fleet.checks_ran(HEAD))
    new.settle()
    fleet.stop_release(HEAD)
    audit_verify(d)
