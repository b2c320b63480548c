"""Settings from the environment: defaults, accepted forms, a one-line error per bad value."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import pytest

from adapters.settings import Database, Mail, Settings, SettingsError

REPO = Path(__file__).resolve().parent.parent.parent
KEY = "s" * 32


@pytest.fixture(autouse=True)
def in_tmp(tmp_path, monkeypatch):
    """Relative paths are relative to the working directory: keep them inside tmp_path."""
    monkeypatch.chdir(tmp_path)


def load(tmp_path: Path, **env: str) -> Settings:
    return Settings.from_env(env, var_dir=tmp_path / "var")


# --- defaults -------------------------------------------------------------------------------


def test_the_default_database_is_a_sqlite_file_in_var_relative_to_the_working_directory(tmp_path):
    settings = load(tmp_path)

    assert settings.database == Database(kind="sqlite", path=Path("var/accounts.sqlite3"))
    assert settings.database_url == "sqlite:///var/accounts.sqlite3"
    assert (tmp_path / "var").is_dir()


def test_the_default_mail_is_a_relative_file_directory_var_mail(tmp_path):
    settings = load(tmp_path)

    assert settings.mail == Mail(kind="file", directory=Path("var/mail"))
    assert not settings.mail.directory.is_absolute()
    assert (tmp_path / "var" / "mail").is_dir()


def test_the_other_defaults_follow_the_contract(tmp_path):
    settings = load(tmp_path)

    assert settings.redis_url is None
    assert settings.mail_from == "Espace Client <no-reply@localhost>"
    assert settings.bcrypt_rounds == 12
    assert settings.rate_limits == {
        "sessions": "30/minute",
        "recoveries": "10/minute",
        "registrations": "30/minute",
        "support-requests": "10/minute",
    }


def test_empty_variables_count_as_unset(tmp_path):
    settings = load(
        tmp_path, ACCOUNTS_DATABASE_URL="", ACCOUNTS_MAIL_URL="", ACCOUNTS_BCRYPT_ROUNDS="",
        ACCOUNTS_REDIS_URL="", ACCOUNTS_RATE_LIMITS="", ACCOUNTS_MAIL_FROM="",
    )

    assert settings.database.path == Path("var/accounts.sqlite3")
    assert settings.mail.directory == Path("var/mail")
    assert settings.redis_url is None
    assert settings.bcrypt_rounds == 12
    assert settings.rate_limits is not None


# --- accepted forms -------------------------------------------------------------------------


def test_a_relative_sqlite_path_lands_under_the_working_directory(tmp_path):
    settings = load(tmp_path, ACCOUNTS_DATABASE_URL="sqlite:///data/x.sqlite3")

    assert settings.database.path == Path("data/x.sqlite3")
    assert (tmp_path / "data").is_dir()


def test_an_absolute_sqlite_path_is_kept_absolute(tmp_path):
    target = tmp_path / "elsewhere" / "x.sqlite3"

    settings = load(tmp_path, ACCOUNTS_DATABASE_URL=f"sqlite:///{target}")

    assert settings.database.path == target
    assert target.parent.is_dir()


@pytest.mark.parametrize("scheme", ["postgresql", "postgres"])
def test_a_postgresql_url_is_read_into_its_parts(tmp_path, scheme):
    settings = load(
        tmp_path, ACCOUNTS_DATABASE_URL=f"{scheme}://app:s%40cret@db.example:6543/accounts"
    )

    assert settings.database == Database(
        kind="postgresql", host="db.example", port=6543, user="app", password="s@cret",
        dbname="accounts",
    )


def test_a_postgresql_url_without_port_or_user_uses_5432_and_postgres(tmp_path):
    settings = load(tmp_path, ACCOUNTS_DATABASE_URL="postgresql://db.example/accounts")

    assert (settings.database.port, settings.database.user) == (5432, "postgres")


def test_a_relative_file_mail_url_stays_relative(tmp_path):
    settings = load(tmp_path, ACCOUNTS_MAIL_URL="file:out/mail")

    assert settings.mail == Mail(kind="file", directory=Path("out/mail"))
    assert (tmp_path / "out" / "mail").is_dir()


def test_an_absolute_file_mail_url_is_absolute(tmp_path):
    target = tmp_path / "abs" / "mail"

    settings = load(tmp_path, ACCOUNTS_MAIL_URL=f"file://{target}")

    assert settings.mail == Mail(kind="file", directory=target)
    assert target.is_dir()


def test_an_smtp_mail_url_gives_host_and_port(tmp_path):
    assert load(tmp_path, ACCOUNTS_MAIL_URL="smtp://mail.example:2525").mail == Mail(
        kind="smtp", host="mail.example", port=2525
    )
    assert load(tmp_path, ACCOUNTS_MAIL_URL="smtp://mail.example").mail.port == 25


def test_a_redis_url_is_kept_as_given(tmp_path):
    url = "redis://127.0.0.1:6379/3"

    assert load(tmp_path, ACCOUNTS_REDIS_URL=url).redis_url == url


@pytest.mark.parametrize("rounds", ["4", "10", "31"])
def test_bcrypt_rounds_from_4_to_31_are_accepted(tmp_path, rounds):
    assert load(tmp_path, ACCOUNTS_BCRYPT_ROUNDS=rounds).bcrypt_rounds == int(rounds)


@pytest.mark.parametrize("value", ["off", "OFF", " off "])
def test_rate_limits_off_disables_them(tmp_path, value):
    assert load(tmp_path, ACCOUNTS_RATE_LIMITS=value).rate_limits is None


def test_custom_rate_limits_are_read_per_name(tmp_path):
    settings = load(tmp_path, ACCOUNTS_RATE_LIMITS="sessions=5/second, recoveries=100/day")

    assert settings.rate_limits == {"sessions": "5/second", "recoveries": "100/day"}


def test_a_sender_with_a_display_name_is_accepted(tmp_path):
    sender = "Mutuelle Exemple <contact@mutuelle.example>"

    assert load(tmp_path, ACCOUNTS_MAIL_FROM=sender).mail_from == sender


# --- the secret key -------------------------------------------------------------------------


def test_a_given_secret_key_of_32_characters_is_used_and_nothing_is_written(tmp_path):
    settings = load(tmp_path, ACCOUNTS_SECRET_KEY=KEY)

    assert settings.secret_key == KEY
    assert not (tmp_path / "var" / "secret_key").exists()


def test_a_generated_secret_key_is_written_once_and_reused_by_the_next_start(tmp_path):
    first = load(tmp_path).secret_key
    path = tmp_path / "var" / "secret_key"

    assert len(first) >= 32
    assert path.read_text(encoding="utf-8") == first
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load(tmp_path).secret_key == first
    assert path.read_text(encoding="utf-8") == first


def test_two_fresh_var_directories_get_different_secret_keys(tmp_path):
    one = Settings.from_env({}, var_dir=tmp_path / "one").secret_key
    two = Settings.from_env({}, var_dir=tmp_path / "two").secret_key

    assert one != two


def test_a_secret_key_that_cannot_be_written_names_the_variable(tmp_path):
    (tmp_path / "plain").write_text("a file, not a directory")

    with pytest.raises(SettingsError) as caught:
        Settings.from_env({}, var_dir=tmp_path / "plain" / "var")

    assert caught.value.variable == "ACCOUNTS_SECRET_KEY"
    assert "ACCOUNTS_SECRET_KEY" in str(caught.value)


def test_an_empty_secret_key_file_is_not_used_as_the_key(tmp_path):
    (tmp_path / "var").mkdir()
    (tmp_path / "var" / "secret_key").write_text("")

    try:
        key = load(tmp_path).secret_key
    except SettingsError as error:
        assert error.variable == "ACCOUNTS_SECRET_KEY"
    else:
        assert len(key) >= 32


# --- bad values -----------------------------------------------------------------------------

BAD_SETTINGS = [
    pytest.param("ACCOUNTS_DATABASE_URL", "mysql://x/y", id="database unknown scheme"),
    pytest.param("ACCOUNTS_DATABASE_URL", "postgresql://db.example", id="postgresql no database"),
    pytest.param("ACCOUNTS_DATABASE_URL", "postgresql://db.example:5432/", id="postgresql db /"),
    pytest.param("ACCOUNTS_DATABASE_URL", "postgresql:///accounts", id="postgresql no host"),
    pytest.param(
        "ACCOUNTS_DATABASE_URL", "postgresql://u@db.example:abc/x", id="database bad port"
    ),
    pytest.param(
        "ACCOUNTS_DATABASE_URL", "postgresql://u@db.example:99999/x", id="database port too big"
    ),
    pytest.param("ACCOUNTS_DATABASE_URL", "sqlite:///", id="sqlite no path"),
    pytest.param("ACCOUNTS_DATABASE_URL", "sqlite://x.sqlite3", id="sqlite two slashes"),
    pytest.param(
        "ACCOUNTS_DATABASE_URL", "sqlite:///{tmp}/plain/x.sqlite3", id="sqlite under a file"
    ),
    pytest.param("ACCOUNTS_MAIL_URL", "ftp://mail.example/", id="mail unknown scheme"),
    pytest.param("ACCOUNTS_MAIL_URL", "smtp://mail.example:abc", id="smtp bad port"),
    pytest.param("ACCOUNTS_MAIL_URL", "smtp://", id="smtp no host"),
    pytest.param("ACCOUNTS_MAIL_URL", "file://host/dir", id="file url with a host"),
    pytest.param("ACCOUNTS_MAIL_URL", "file:{tmp}/plain/mail", id="mail dir under a file"),
    pytest.param("ACCOUNTS_MAIL_URL", "file://{tmp}/plain/mail", id="abs mail dir under a file"),
    pytest.param("ACCOUNTS_REDIS_URL", "http://127.0.0.1:6379/0", id="redis wrong scheme"),
    pytest.param("ACCOUNTS_REDIS_URL", "redis://127.0.0.1:abc/0", id="redis bad port"),
    pytest.param("ACCOUNTS_REDIS_URL", "127.0.0.1:6379", id="redis no scheme"),
    pytest.param("ACCOUNTS_BCRYPT_ROUNDS", "abc", id="bcrypt not a number"),
    pytest.param("ACCOUNTS_BCRYPT_ROUNDS", "3", id="bcrypt below 4"),
    pytest.param("ACCOUNTS_BCRYPT_ROUNDS", "32", id="bcrypt above 31"),
    pytest.param("ACCOUNTS_BCRYPT_ROUNDS", "-5", id="bcrypt negative"),
    pytest.param("ACCOUNTS_BCRYPT_ROUNDS", "12.5", id="bcrypt fraction"),
    pytest.param("ACCOUNTS_BCRYPT_ROUNDS", "\u00b2", id="bcrypt superscript digit"),
    pytest.param("ACCOUNTS_SECRET_KEY", "short", id="secret key short"),
    pytest.param("ACCOUNTS_SECRET_KEY", "s" * 31, id="secret key 31 characters"),
    pytest.param("ACCOUNTS_MAIL_FROM", "Espace Client <no-reply>", id="sender without at"),
    pytest.param("ACCOUNTS_MAIL_FROM", "no-reply", id="sender bare word"),
    pytest.param("ACCOUNTS_RATE_LIMITS", "sessions=lots", id="rate limit not a number"),
    pytest.param("ACCOUNTS_RATE_LIMITS", "sessions=0/minute", id="rate limit zero"),
    pytest.param("ACCOUNTS_RATE_LIMITS", "sessions=5/fortnight", id="rate limit unknown period"),
    pytest.param("ACCOUNTS_RATE_LIMITS", "sessions", id="rate limit without value"),
]


@pytest.mark.parametrize(("variable", "value"), BAD_SETTINGS)
def test_each_bad_value_raises_a_one_line_settings_error_naming_its_variable(
    tmp_path, variable, value
):
    (tmp_path / "plain").write_text("a file, not a directory")

    with pytest.raises(SettingsError) as caught:
        load(tmp_path, **{variable: value.replace("{tmp}", str(tmp_path))})

    message = str(caught.value)
    assert caught.value.variable == variable
    assert variable in message
    assert "\n" not in message


# --- start-up -------------------------------------------------------------------------------


def test_a_bad_value_stops_start_up_with_one_line_naming_the_variable_and_no_traceback(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("ACCOUNTS_")}
    env.update(ACCOUNTS_DATABASE_URL="mysql://x/y", PYTHONPATH=str(REPO))
    flask = REPO / ".venv" / "bin" / "flask"

    result = subprocess.run(
        [str(flask), "--app", "app", "directory", "import", str(REPO / "demo" / "members.csv")],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120, check=False,
    )

    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines
    assert "ACCOUNTS_DATABASE_URL" in lines[-1]
    assert "Traceback" not in result.stderr


def test_the_portal_url_is_http_or_https_with_a_host(tmp_path):
    assert load(tmp_path, ACCOUNTS_PORTAL_URL="https://espace.example.fr/").portal_url == (
        "https://espace.example.fr"
    )
    assert load(tmp_path).portal_url == "http://localhost:5000"
    for bad in ("ftp://espace.example.fr", "espace.example.fr", "https://"):
        with pytest.raises(SettingsError, match="ACCOUNTS_PORTAL_URL"):
            load(tmp_path, ACCOUNTS_PORTAL_URL=bad)
