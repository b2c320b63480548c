"""The operator's command line: `directory import` and `staff create` (SQLite and PostgreSQL);
`staff list` and `staff revoke` are in test_staff_tokens.py."""

from __future__ import annotations

import os
import re
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest

from adapters.directory import COLUMNS
from adapters.staff_tokens import Staff
from domain.credentials import token_digest
from tests.helpers import DEMO_CSV, make_settings

REPO = DEMO_CSV.parent.parent
HEADER = ",".join(COLUMNS)
GOOD = "M2000001,Durand,Paul,1980-01-01,SANTE-IND-900,individual,principal,,,contributor"
TOKEN = re.compile(r"[A-Za-z0-9_-]{43}")  # secrets.token_urlsafe(32)
ALICE = ["staff", "create", "alice", "--role", "support"]


@pytest.fixture
def runner(app):
    """Flask's click runner: each command gets the app context, as from the `flask` command."""
    return app.test_cli_runner()


def last_line(text: str) -> str:
    return text.strip().splitlines()[-1]


# --- directory import -----------------------------------------------------------------------


def test_importing_the_demo_file_exits_zero_and_says_how_many_rows(runner, monkeypatch):
    monkeypatch.chdir(REPO)

    result = runner.invoke(args=["directory", "import", "demo/members.csv"])

    assert result.exit_code == 0, result.output
    assert "25 ligne(s) importée(s)" in result.stdout
    assert result.stderr == ""


def test_a_new_member_imported_from_the_command_line_is_found_at_once(runner, services, tmp_path):
    path = tmp_path / "new.csv"
    path.write_text(f"{HEADER}\n{GOOD}\n", encoding="utf-8")

    result = runner.invoke(args=["directory", "import", str(path)])

    assert result.exit_code == 0, result.output
    assert services.directory.find("M2000001") is not None


def test_a_bad_file_exits_one_and_prints_each_bad_line_number_on_stderr(
    runner, services, tmp_path
):
    path = tmp_path / "bad.csv"
    path.write_text(
        "\n".join([
            HEADER,
            GOOD,
            "M2000002,,Claire,1982-03-04,,,,,,contributor",
            "M2000003,Durand,Léa,1990-01-01,,,,,,contributor",
            "M2000004,Durand,Léo,1990-13-01,,,,,,contributor",
            "M2000005,Durand,Lou,1990-01-01,,,,,,retired",
        ]) + "\n",
        encoding="utf-8",
    )

    result = runner.invoke(args=["directory", "import", str(path)])

    assert result.exit_code == 1
    numbers = re.findall(rf"{re.escape(str(path))}:(\d+):", result.stderr)
    reported = sorted({int(n) for n in numbers})
    assert reported == [3, 5, 6]
    assert "importée(s)" not in result.stdout
    assert services.directory.find("M2000001") is None
    assert services.directory.find("M2000003") is None


def test_a_wrong_header_exits_one_and_points_at_line_one(runner, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("numero,nom\nM2000001,Durand\n", encoding="utf-8")

    result = runner.invoke(args=["directory", "import", str(path)])

    assert result.exit_code == 1
    assert f"{path}:1:" in result.stderr


def test_a_file_that_is_not_utf8_exits_one_without_importing(runner, services, tmp_path):
    path = tmp_path / "latin1.csv"
    path.write_bytes(f"{HEADER}\n{GOOD.replace('Paul', 'Hélène')}\n".encode("latin-1"))

    result = runner.invoke(args=["directory", "import", str(path)])

    assert result.exit_code == 1
    assert "UTF-8" in result.stderr
    assert services.directory.find("M2000001") is None


def test_a_byte_that_is_not_utf8_far_into_the_file_imports_none_of_the_rows_before_it(
    runner, services, tmp_path
):
    """The file is read as it is imported: the rows taken before the bad byte are undone."""
    path = tmp_path / "late-latin1.csv"
    rows = [f"M2{n:06d},Durand,Paul,1980-01-01,,,,,," for n in range(5_000)]
    path.write_bytes(
        "\n".join([HEADER, *rows]).encode() + "\nM3000001,Hélène,Paul,1980-01-01,,,,,,\n"
        .encode("latin-1")
    )

    result = runner.invoke(args=["directory", "import", str(path)])

    assert result.exit_code == 1
    assert result.stderr == f"{path}: le fichier n'est pas en UTF-8\n"
    assert services.directory.find("M2000000") is None


def test_a_missing_file_exits_non_zero(runner, tmp_path):
    result = runner.invoke(args=["directory", "import", str(tmp_path / "absent.csv")])

    assert result.exit_code != 0


# --- staff create ---------------------------------------------------------------------------


def test_staff_create_prints_a_token_last_that_identifies_the_staff_member(runner, services):
    result = runner.invoke(args=["staff", "create", "alice", "--role", "support"])

    assert result.exit_code == 0, result.output
    token = last_line(result.stdout)
    assert TOKEN.fullmatch(token)
    assert services.staff_tokens.find(token) == Staff("alice", "support")


def test_staff_create_stores_only_a_digest_of_the_token(runner, services):
    token = last_line(
        runner.invoke(args=["staff", "create", "alice", "--role", "support"]).stdout
    )

    with services.database.transaction(commit=False) as cursor:
        cursor.execute("SELECT * FROM staff_tokens")
        rows = cursor.fetchall()

    assert len(rows) == 1
    assert rows[0]["token_digest"] == token_digest(token)
    assert (rows[0]["name"], rows[0]["role"]) == ("alice", "support")
    assert not any(token in str(value) for row in rows for value in row.values())


def test_two_staff_tokens_are_different_and_each_keeps_its_own_role(runner, services):
    first = last_line(runner.invoke(args=["staff", "create", "alice", "--role", "support"]).stdout)
    second = last_line(runner.invoke(args=["staff", "create", "carol", "--role", "claims"]).stdout)

    assert first != second
    assert services.staff_tokens.find(first) == Staff("alice", "support")
    assert services.staff_tokens.find(second) == Staff("carol", "claims")
    assert services.staff_tokens.find("not-a-token") is None


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(["staff", "create", "alice", "--role", "admin"], id="unknown role"),
        pytest.param(["staff", "create", "alice"], id="no role"),
        pytest.param(["staff", "create", "ali:ce", "--role", "support"], id="colon in name"),
        pytest.param(["staff", "create", "x" * 65, "--role", "support"], id="name too long"),
    ],
)
def test_staff_create_with_a_bad_argument_exits_non_zero_and_creates_nothing(
    runner, services, args
):
    result = runner.invoke(args=args)

    assert result.exit_code != 0
    assert result.stderr
    with services.database.transaction(commit=False) as cursor:
        cursor.execute("SELECT COUNT(*) AS n FROM staff_tokens")
        assert cursor.fetchone()["n"] == 0


@pytest.mark.parametrize("days", ["0", "-1", "366", "-365"])
def test_staff_create_with_an_expiry_out_of_one_to_365_days_is_a_usage_error(
    runner, services, days
):
    result = runner.invoke(args=[*ALICE, f"--expires-in={days}"])

    assert result.exit_code == 2
    assert result.stdout == ""
    assert f"{days} is not in the range 1<=x<=365" in result.stderr
    assert services.staff_tokens.list_tokens() == []


@pytest.mark.parametrize("days", [1, 365])
def test_staff_create_takes_an_expiry_from_one_to_365_days(runner, services, clock, days):
    result = runner.invoke(args=[*ALICE, "--expires-in", str(days)])

    assert result.exit_code == 0, result.output
    assert TOKEN.fullmatch(last_line(result.stdout))
    [token] = services.staff_tokens.list_tokens()
    assert token.expires_at == clock.now + timedelta(days=days)


def test_staff_create_without_an_expiry_gives_ninety_days(runner, services, clock):
    assert runner.invoke(args=ALICE).exit_code == 0

    [token] = services.staff_tokens.list_tokens()
    assert token.expires_at - token.created_at == timedelta(days=90)
    assert token.created_at == clock.now


# --- a real process -------------------------------------------------------------------------


def test_staff_create_in_a_real_process_prints_only_a_usable_token(tmp_path: Path):
    database_url = f"sqlite:///{tmp_path / 'accounts.sqlite3'}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("ACCOUNTS_")}
    env.update(
        ACCOUNTS_DATABASE_URL=database_url,
        ACCOUNTS_MAIL_URL=f"file://{tmp_path / 'mail'}",
        ACCOUNTS_SECRET_KEY="k" * 40,
    )

    result = subprocess.run(
        [".venv/bin/flask", "--app", "app", "staff", "create", "bob", "--role", "auditor"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=120, check=False,
    )

    assert result.returncode == 0, result.stderr
    # Standard output is the answer alone; the logs go to standard error, and no command
    # starts the scheduled checks (only the projection runner runs them).
    [token] = result.stdout.splitlines()
    assert TOKEN.fullmatch(token)
    assert "apscheduler" not in result.stderr and "projection" not in result.stderr

    from bootstrap import bootstrap

    services = bootstrap(make_settings(tmp_path, database_url))
    try:
        assert services.staff_tokens.find(token) == Staff("bob", "auditor")
    finally:
        services.close()


def test_a_worker_process_wires_the_services_without_loading_flask(tmp_path: Path, redis_url):
    env = {k: v for k, v in os.environ.items() if not k.startswith("ACCOUNTS_")}
    env.update(
        ACCOUNTS_DATABASE_URL=f"sqlite:///{tmp_path / 'accounts.sqlite3'}",
        ACCOUNTS_MAIL_URL=f"file://{tmp_path / 'mail'}",
        ACCOUNTS_SECRET_KEY="k" * 40,
        ACCOUNTS_REDIS_URL=redis_url,
    )
    code = ("import sys, workers.main, workers.projections; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('flask', 'app')))")
    result = subprocess.run(
        [".venv/bin/python", "-c", code],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=120, check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
