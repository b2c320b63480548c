"""An account's timeline as a picture: one row per day (Paris time), each event a numbered
mark in the order it happened, its shape and colour saying what it belongs to (the account,
a registration, a request, a reimbursement). Drawn on the server as inline SVG: the pages
allow no script and load nothing from elsewhere.

The picture is one image to assistive technologies (role="img"), named by its <title> and
summed up by its <desc>; its marks' numbers are those of the list below it, which says all.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import groupby

from adapters.http.console.audit_view import FAMILIES, OTHER, Entry
from adapters.http.console.labels import when
from adapters.mail_french import PARIS

PER_ROW = 16
LEFT = 110  # room for the day
STEP = 40
ROW = 54
TOP = 8
WIDTH = LEFT + PER_ROW * STEP + 10
# By family: the mark's path around (0, 0), about 18 units wide. Shapes differ as well as
# colours, for whoever does not tell the colours apart.
SHAPES = {
    "account": "M -9 0 a 9 9 0 1 0 18 0 a 9 9 0 1 0 -18 0 Z",
    "enrollment": "M -8 -8 H 8 V 8 H -8 Z",
    "request": "M 0 -10 L 10 0 L 0 10 L -10 0 Z",
    "reimbursement": "M 0 -10 L 10 8 L -10 8 Z",
    "other": "M -6 -6 H 6 V 6 H -6 Z",
}
NAMES = {family: name for family, name in (*FAMILIES.values(), OTHER)}
PLURAL = {"account": "du compte", "enrollment": "d'inscription", "request": "de demande",
          "reimbursement": "de remboursement", "other": "d'index"}


@dataclass(frozen=True)
class Mark:
    x: int
    y: int
    family: str
    number: int


@dataclass(frozen=True)
class Row:
    y: int
    day: str | None  # on the first row of each day only
    end: int  # where its thread ends
    marks: list[Mark]


@dataclass(frozen=True)
class Picture:
    """What the template console/audit_timeline.html draws."""

    width: int
    height: int
    title: str
    summary: str
    rows: list[Row]
    shapes: dict[str, str]


def legend() -> list[tuple[str, str, str]]:
    """(family, French name, the path of its mark) for the key beside the picture."""
    return [(family, NAMES[family], path) for family, path in SHAPES.items()]


def summary(found: Sequence[Entry]) -> str:
    """The picture in one sentence, for those who do not see it."""
    if not found:
        return "Aucun événement."
    counts = Counter(e.family for e in found)
    parts = ", ".join(f"{counts[f]} {PLURAL[f]}" for f in SHAPES if counts[f])
    days = len({e.at.astimezone(PARIS).date() for e in found})
    return (f"{len(found)} événement{'s' if len(found) > 1 else ''} ({parts}) sur {days} "
            f"jour{'s' if days > 1 else ''}, du {when(found[0].at)} au {when(found[-1].at)}. "
            "Les numéros sont ceux de la liste des événements.")


def timeline(found: Sequence[Entry], title: str) -> Picture:
    rows: list[Row] = []
    for day, events in groupby(found, key=lambda e: e.at.astimezone(PARIS).date()):
        listed = list(events)
        for start in range(0, len(listed), PER_ROW):
            chunk, y = listed[start:start + PER_ROW], TOP + len(rows) * ROW + 18
            marks = [Mark(LEFT + STEP // 2 + column * STEP, y, e.family, e.number)
                     for column, e in enumerate(chunk)]
            rows.append(Row(y, day.strftime("%d/%m/%Y") if start == 0 else None,
                            marks[-1].x + 12, marks))
    return Picture(WIDTH, TOP + max(len(rows), 1) * ROW, title, summary(found), rows, SHAPES)
