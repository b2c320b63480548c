"""An e-mail's content written once, as blocks, and rendered twice: a text/plain part and a
text/html part of one multipart/alternative message, so that the two say the same thing."""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from datetime import UTC, datetime
from email.charset import QP, Charset
from email.header import Header
from email.message import Message
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import format_datetime, formataddr, make_msgid, parseaddr
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup, escape

from adapters.mail_french import french


@dataclass(frozen=True)
class Link:
    """A link to a portal page: its words in the prose, its address beside them in text."""

    text: str
    url: str


@dataclass(frozen=True)
class Paragraph:
    """Prose, French spacing applied; a "\\n" in a segment is a line break."""

    segments: tuple[str | Link, ...]


@dataclass(frozen=True)
class Codes:
    """The contract's machine-read lines (`Identifiant : <identifier>`...): label and value
    joined by a plain space and a colon, byte-exact, never rewrapped."""

    lines: tuple[tuple[str, str], ...]


Block = Paragraph | Codes


def paragraph(*segments: str | Link) -> Paragraph:
    return Paragraph(tuple(
        Link(french(s.text), s.url) if isinstance(s, Link) else french(s) for s in segments
    ))


GREETING = paragraph("Bonjour,")
SIGNATURE = paragraph("Cordialement,\nLe support technique de l'Espace Client")

# Text part. Each paragraph is wrapped at 72 columns as format=flowed (RFC 3676): a line that
# ends with a space goes on in the next one, so a mail client reflows the paragraph to its
# window, and the .eml file still reads well with `cat`. No-break spaces are not break points.
WIDTH = 72


def _flowed(text: str) -> str:
    lines = []
    for hard_line in text.split("\n"):
        wrapped = textwrap.wrap(
            hard_line, WIDTH, break_long_words=False, break_on_hyphens=False
        ) or [""]
        lines += [line + " " for line in wrapped[:-1]] + wrapped[-1:]
    # Space-stuffing (RFC 3676, 4.4): a line starting with a space, ">" (a quote) or "From "
    # (which mbox rewrites as ">From ") gets one more space, which the reader drops.
    return "\n".join(" " + line if line.startswith((" ", ">", "From ")) else line
                     for line in lines)


def plain_text(blocks: list[Block]) -> str:
    parts = []
    for block in blocks:
        if isinstance(block, Codes):
            parts.append("\n".join(f"{label} : {value}" for label, value in block.lines))
        else:
            parts.append(_flowed("".join(
                f"{s.text} <{s.url}>" if isinstance(s, Link) else s for s in block.segments
            )))
    return "\n\n".join(parts) + "\n"


# HTML part: one template, every value escaped by Jinja2's autoescape.

_templates = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "mail_templates"),
    autoescape=True,
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
_templates.tests["link"] = lambda segment: isinstance(segment, Link)
_templates.tests["codes"] = lambda block: isinstance(block, Codes)
_templates.filters["lines"] = lambda text: escape(text).replace("\n", Markup("<br>\n"))


def html_text(subject: str, blocks: list[Block]) -> str:
    return _templates.get_template("message.html").render(subject=subject, blocks=blocks)


# The message is built with the email package's compat32 classes, which take headers as they
# are given: the default policy's header registry parsed every header when set and again when
# smtplib flattened the message, 36 % of a mail worker's CPU under load (issue 21). What it
# wrote is what these write; tests/unit/test_mail_messages.py reads the bytes back.
EIGHT_BIT = Charset("utf-8")
EIGHT_BIT.body_encoding = None  # 8bit, so that the .eml file reads with `cat`
QUOTED = Charset("utf-8")
QUOTED.body_encoding = QP


def _part(text: str, subtype: str, **params: str) -> MIMEText:
    """8bit (quoted-printable made « enregistrée » read `enregistr=C3=A9e`); quoted-printable
    only past SMTP's 998-octet line limit."""
    longest = max((len(line.encode()) for line in text.splitlines()), default=0)
    part = MIMEText(text, subtype, EIGHT_BIT if longest <= 998 else QUOTED)
    del part["MIME-Version"]  # said once, by the message
    for name, value in params.items():
        part.set_param(name, value)
    return part


def compose(sender: str, to: str, subject: str, blocks: list[Block]) -> Message:
    """`to` is ASCII (adapters/http/schemas.py refuses the rest); the sender's name may not be."""
    blocks = [GREETING, *blocks, SIGNATURE]
    name, address = parseaddr(sender)
    message = MIMEMultipart("alternative")
    message["From"] = formataddr((name, address), charset="utf-8")
    message["To"] = to
    # Named, so that the first line's encoded words leave room for "Subject: " (RFC 2047's
    # 75 characters a word, 78 a line).
    message["Subject"] = (
        subject if subject.isascii() else Header(subject, "utf-8", header_name="Subject")
    )
    message["Date"] = format_datetime(datetime.now(UTC))
    message["Message-ID"] = make_msgid(domain=address.rpartition("@")[2] or None)
    message.attach(_part(plain_text(blocks), "plain", format="flowed"))
    message.attach(_part(html_text(subject, blocks), "html"))
    return message
