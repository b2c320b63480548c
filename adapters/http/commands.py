"""The `flask --app app …` commands of the member directory, staff tokens and auditors; app.py
adds them to the application's CLI, with the database's (which run the workers' upgrade)."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click
from flask import current_app
from flask.cli import AppGroup

from adapters.audit_verify import verify_everything, verify_since_checkpoint
from adapters.directory import DirectoryImportError
from adapters.progress import ProgressBars
from adapters.staff_tokens import ROLES, TOKEN_DAYS_DEFAULT, TOKEN_DAYS_MAX

if TYPE_CHECKING:
    from bootstrap import Services


def cli_services() -> Services:
    """The application's services, within a command (Flask pushes its context)."""
    return current_app.extensions["accounts"]


@click.group("directory", cls=AppGroup, help="The member directory (eligibility reference).")
def directory_cli() -> None:
    pass


@directory_cli.command("import", help="Import a directory CSV: all rows or none.")
@click.argument("csv_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def directory_import(csv_file: Path) -> None:
    try:
        with ProgressBars() as progress, csv_file.open(encoding="utf-8", newline="") as lines:
            count = cli_services().directory.import_lines(
                lines, total_lines=_count_lines(csv_file), progress=progress
            )
    except UnicodeDecodeError:
        # Read as it is imported: the transaction that was taking the rows is rolled back.
        click.echo(f"{csv_file}: le fichier n'est pas en UTF-8", err=True)
        sys.exit(1)
    except DirectoryImportError as error:
        for line, problem in error.problems:
            click.echo(f"{csv_file}:{line}: {problem}", err=True)
        click.echo(f"aucune ligne importée ({len(error.problems)} erreur(s))", err=True)
        sys.exit(1)
    click.echo(f"{count} ligne(s) importée(s)")


@click.group("staff", cls=AppGroup, help="Staff members and their tokens.")
def staff_cli() -> None:
    pass


@staff_cli.command("create", help="Create a token for NAME; the last line of output is the token.")
@click.argument("name")
@click.option("--role", type=click.Choice(ROLES), required=True)
@click.option(
    "--expires-in", "days", type=click.IntRange(1, TOKEN_DAYS_MAX), default=TOKEN_DAYS_DEFAULT,
    show_default=True, metavar="DAYS", help=f"Days until it expires, at most {TOKEN_DAYS_MAX}.",
)
def staff_create(name: str, role: str, days: int) -> None:
    try:
        token = cli_services().staff_tokens.create(name, role, days)
    except ValueError as error:
        click.echo(str(error), err=True)
        sys.exit(2)
    # Standard output is the answer alone, for `| tail -1` or `$(…)`; the rest is for people.
    click.echo(
        f"Jeton créé pour {name} (rôle {role}, valable {days} jour(s)). Il ne sera plus affiché :",
        err=True,
    )
    click.echo(token)


@staff_cli.command("list", help="One line per token: name, role, dates, revoked or not.")
def staff_list() -> None:
    now = cli_services().clock()
    for token in cli_services().staff_tokens.list_tokens():
        state = (
            "revoked" if token.revoked_at is not None
            else "expired" if token.expires_at <= now
            else "active"
        )
        last_used = _utc(token.last_used_at) if token.last_used_at is not None else "never"
        click.echo("\t".join([
            token.name, token.role, f"created {_utc(token.created_at)}",
            f"expires {_utc(token.expires_at)}", f"last used {last_used}", state,
        ]))


@staff_cli.command("revoke", help="Every token of NAME stops working at once, in every process.")
@click.argument("name")
def staff_revoke(name: str) -> None:
    count = cli_services().staff_tokens.revoke(name)
    if count == 0:
        click.echo(f"aucun jeton au nom de {name}", err=True)
        sys.exit(1)
    click.echo(f"{count} jeton(s) de {name} révoqué(s)")


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _count_lines(path: Path) -> int:
    """For the progress bar: a million-row file is counted in a tenth of a second."""
    with path.open("rb") as file:
        return sum(chunk.count(b"\n") for chunk in iter(lambda: file.read(1 << 20), b""))


@click.group("audit", cls=AppGroup, help="Checks for auditors.")
def audit_cli() -> None:
    pass


@audit_cli.command(
    "verify", help="Check the hash chain, replay the history into fresh read models, compare."
)
@click.option(
    "--since", "since", type=click.Path(exists=True, dir_okay=False), default=None,
    metavar="FILE", help="A checkpoint saved earlier: check that the log extends it, then"
    " verify only the events after it.",
)
def audit_verify(since: str | None) -> None:
    s = cli_services()
    s.projections.stop()  # this command brings the live read models up to date itself
    if since is not None:
        note = Path(since).read_text(encoding="utf-8")
        problems = verify_since_checkpoint(s, note, say=click.echo)
    else:
        with ProgressBars() as progress:
            problems = verify_everything(s, say=progress.say, progress=progress)
    for problem in problems:
        click.echo(f"PROBLEM {problem}", err=True)
    sys.exit(0 if not problems else 1)


@audit_cli.command(
    "checkpoint", help="Sign the whole log, publish the checkpoint if it is new, print it."
)
def audit_checkpoint() -> None:
    s = cli_services()
    s.projections.stop()  # the tree is brought up to the log's head here, then signed
    s.audit_proofs.catch_up(s.lifecycle)
    # Published as the periodic job would, so that a checkpoint handed to a third party
    # can always be proved consistent with the later ones the service keeps.
    s.audit_proofs.publish(s.clock())
    click.echo(s.audit_proofs.checkpoint().note, nl=False)
