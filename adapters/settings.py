"""The environment (CONTRACT.md, "Operations"), read once into a typed, validated object."""

from __future__ import annotations

import base64
import binascii
import os
import re
import secrets
from dataclasses import dataclass
from email.headerregistry import Address
from email.utils import parseaddr
from pathlib import Path
from urllib.parse import unquote, urlsplit

DEFAULT_RATE_LIMITS = (
    "sessions=30/minute,recoveries=10/minute,registrations=30/minute,support-requests=10/minute"
)
RATE_LIMIT_ITEM = re.compile(
    r"^(?P<name>[a-z-]+)=(?P<count>[1-9][0-9]*)/(?P<per>second|minute|hour|day)$"
)


class SettingsError(Exception):
    """A variable has a value we cannot run with; the message names it, on one line."""

    def __init__(self, variable: str, problem: str):
        super().__init__(f"{variable}: {problem}")
        self.variable = variable


@dataclass(frozen=True)
class Database:
    kind: str  # "sqlite" or "postgresql"
    path: Path | None = None
    host: str = ""
    port: int = 5432
    user: str = ""
    password: str = ""
    dbname: str = ""


@dataclass(frozen=True)
class Mail:
    kind: str  # "file" or "smtp"
    directory: Path | None = None
    host: str = ""
    port: int = 25


@dataclass(frozen=True)
class Settings:
    database: Database
    redis_url: str | None
    mail: Mail
    mail_from: str
    bcrypt_rounds: int
    secret_key: str
    rate_limits: dict[str, str] | None  # None: off
    database_url: str
    # Where members and staff reach the service: the links in e-mails, and Secure cookies
    # when it is https.
    portal_url: str = "http://localhost:5000"
    # The Ed25519 seed that signs the audit checkpoints; None: derived from secret_key
    # (adapters/checkpoints.py).
    audit_signing_key: bytes | None = None

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None, var_dir: Path = Path("var")) -> Settings:
        env = dict(os.environ if env is None else env)
        database_url = env.get("ACCOUNTS_DATABASE_URL") or "sqlite:///var/accounts.sqlite3"
        return cls(
            database=parse_database_url(database_url),
            redis_url=parse_redis_url(env.get("ACCOUNTS_REDIS_URL") or None),
            mail=parse_mail_url(env.get("ACCOUNTS_MAIL_URL") or "file:var/mail"),
            mail_from=parse_mail_from(
                env.get("ACCOUNTS_MAIL_FROM") or "Espace Client <no-reply@localhost>"
            ),
            bcrypt_rounds=parse_bcrypt_rounds(env.get("ACCOUNTS_BCRYPT_ROUNDS") or "12"),
            secret_key=secret_key(env.get("ACCOUNTS_SECRET_KEY"), var_dir),
            rate_limits=parse_rate_limits(env.get("ACCOUNTS_RATE_LIMITS") or DEFAULT_RATE_LIMITS),
            database_url=database_url,
            portal_url=parse_portal_url(env.get("ACCOUNTS_PORTAL_URL") or "http://localhost:5000"),
            audit_signing_key=parse_signing_key(env.get("ACCOUNTS_AUDIT_SIGNING_KEY") or None),
        )


def _writable_parent(variable: str, path: Path) -> None:
    """The directory must exist or be creatable: fail at start-up, not at the first write."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise SettingsError(variable, f"cannot create {path} ({error.strerror})") from None
    if not os.access(path, os.W_OK):
        raise SettingsError(variable, f"{path} is not writable")


def parse_database_url(url: str) -> Database:
    name = "ACCOUNTS_DATABASE_URL"
    parts = urlsplit(url)
    if parts.scheme == "sqlite":
        # sqlite:///relative/path and sqlite:////absolute/path, as SQLAlchemy writes them.
        raw = unquote(parts.path)
        if not raw.startswith("/") or raw == "/":
            raise SettingsError(name, "expected sqlite:///relative/path or sqlite:////absolute/path")
        path = Path(raw[1:])  # "/var/x" -> var/x (relative); "//abs/x" -> /abs/x
        _writable_parent(name, path.parent)
        return Database(kind="sqlite", path=path)
    if parts.scheme in ("postgresql", "postgres"):
        dbname = unquote(parts.path.lstrip("/"))
        if not parts.hostname or not dbname:
            raise SettingsError(name, "expected postgresql://user:password@host:port/database")
        try:
            port = parts.port or 5432
        except ValueError:
            raise SettingsError(name, "the port is not a number") from None
        return Database(
            kind="postgresql",
            host=parts.hostname,
            port=port,
            user=unquote(parts.username or "postgres"),
            password=unquote(parts.password or ""),
            dbname=dbname,
        )
    raise SettingsError(name, f"unknown scheme {parts.scheme!r} (use sqlite:// or postgresql://)")


def parse_portal_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SettingsError("ACCOUNTS_PORTAL_URL", "expected http(s)://host[:port][/path]")
    return url.rstrip("/")


def parse_redis_url(url: str | None) -> str | None:
    if url is None:
        return None
    parts = urlsplit(url)
    if parts.scheme not in ("redis", "rediss") or not parts.hostname:
        raise SettingsError("ACCOUNTS_REDIS_URL", "expected redis://host:port/N")
    try:
        parts.port  # noqa: B018  (parsing it is the check)
    except ValueError:
        raise SettingsError("ACCOUNTS_REDIS_URL", "the port is not a number") from None
    return url


def parse_mail_url(url: str) -> Mail:
    name = "ACCOUNTS_MAIL_URL"
    parts = urlsplit(url)
    if parts.scheme == "file":
        # file:var/mail (relative) or file:///abs/dir (absolute).
        raw = unquote(parts.path)
        if parts.netloc or not raw:
            raise SettingsError(name, "expected file:DIR or file:///DIR")
        directory = Path(raw)
        _writable_parent(name, directory)
        return Mail(kind="file", directory=directory)
    if parts.scheme == "smtp":
        if not parts.hostname:
            raise SettingsError(name, "expected smtp://host:port")
        try:
            port = parts.port or 25
        except ValueError:
            raise SettingsError(name, "the port is not a number") from None
        return Mail(kind="smtp", host=parts.hostname, port=port)
    raise SettingsError(name, f"unknown scheme {parts.scheme!r} (use file: or smtp://)")


def parse_mail_from(value: str) -> str:
    display, address = parseaddr(value)
    if "@" not in address:
        raise SettingsError("ACCOUNTS_MAIL_FROM", "expected a sender such as Name <user@host>")
    local, _, domain = address.rpartition("@")
    try:
        Address(display_name=display, username=local, domain=domain)
    except (ValueError, IndexError):
        raise SettingsError("ACCOUNTS_MAIL_FROM", "not a valid address") from None
    return value


def parse_signing_key(value: str | None) -> bytes | None:
    if value is None:
        return None
    try:
        seed = base64.b64decode(value.strip(), validate=True)
    except binascii.Error:
        raise SettingsError("ACCOUNTS_AUDIT_SIGNING_KEY", "not base64") from None
    if len(seed) != 32:
        raise SettingsError("ACCOUNTS_AUDIT_SIGNING_KEY", "expected the base64 of a 32-byte "
                            f"Ed25519 seed, not of {len(seed)} bytes")
    return seed


def parse_bcrypt_rounds(value: str) -> int:
    if not re.fullmatch(r"[0-9]{1,2}", value) or not 4 <= int(value) <= 31:
        raise SettingsError("ACCOUNTS_BCRYPT_ROUNDS", "expected a whole number from 4 to 31")
    return int(value)


def secret_key(value: str | None, var_dir: Path) -> str:
    name = "ACCOUNTS_SECRET_KEY"
    if value is not None:
        if len(value) < 32:
            raise SettingsError(name, "must be at least 32 characters")
        return value
    # Generated once and kept, so tokens and encrypted data survive restarts. Written to a
    # private temporary file, then linked into place: two processes starting at once never
    # see a half-written key, and the first one's key wins.
    path = var_dir / "secret_key"
    try:
        if not path.exists():
            var_dir.mkdir(parents=True, exist_ok=True)
            partial = var_dir / f".secret_key.{os.getpid()}"
            fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(secrets.token_urlsafe(48))
            try:
                os.link(partial, path)
            except FileExistsError:
                pass
            finally:
                partial.unlink()
        key = path.read_text(encoding="utf-8").strip()
    except OSError as error:
        raise SettingsError(name, f"unset, and {path}: {error.strerror}") from None
    if len(key) < 32:
        raise SettingsError(name, f"unset, and {path} holds fewer than 32 characters")
    return key


def parse_rate_limits(value: str) -> dict[str, str] | None:
    if value.strip().lower() == "off":
        return None
    limits = {}
    for item in value.split(","):
        match = RATE_LIMIT_ITEM.match(item.strip())
        if match is None:
            raise SettingsError(
                "ACCOUNTS_RATE_LIMITS", f"cannot read {item.strip()!r} (expected name=N/minute)"
            )
        limits[match["name"]] = f"{match['count']}/{match['per']}"
    return limits
