"""The queue over the last 30 days, as two line charts above the list: how many items of each
kind were waiting at the end of each day (Paris), and how old the oldest of them was. Drawn on
the server as inline SVG (the pages allow no script and load nothing from elsewhere); the
template is console/_chart.html.

Each kind is told apart by its colour (3:1 or more on white), its line's dashes, its marks'
shape and a label at the line's end, never by colour alone. Each picture is one image to
assistive technologies (role="img"), named by its <title> and summed up by its <desc>; the
figures themselves are in the tables below it ("Voir les chiffres").
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any

from adapters.http.console.labels import KIND_LABELS
from projections.support_queue_flow import FLOW_KINDS

DAYS = 30
AGE_TITLE = "Ancienneté de la plus ancienne demande à traiter, en jours depuis son arrivée"
WIDTH, HEIGHT = 760, 230
LEFT, RIGHT, TOP, BOTTOM = 44, 250, 14, 34  # the right margin holds the lines' labels
PLOT_W, PLOT_H = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
LABEL_GAP = 15  # the least height between two lines' labels
# By kind: the class that colours it (console.css), its dashes, its marks' shape (a path
# around 0 0, about 8 units wide).
STYLES = {
    "identity_review": ("k1", "none", "M -4 0 a 4 4 0 1 0 8 0 a 4 4 0 1 0 -8 0 Z"),
    "email_update": ("k2", "7 4", "M -3.5 -3.5 H 3.5 V 3.5 H -3.5 Z"),
    "closure": ("k3", "2 3", "M 0 -4.5 L 4.5 3.5 L -4.5 3.5 Z"),
    "other": ("k4", "9 3 2 3", "M 0 -5 L 5 0 L 0 5 L -5 0 Z"),
}


@dataclass(frozen=True)
class Line:
    kind: str
    label: str
    style: str
    dashes: str
    shape: str
    path: str  # gaps where the value is unknown (no item waiting: no age)
    points: list[tuple[float, float]]
    label_y: float
    last: str  # the last value, as the label shows it


@dataclass(frozen=True)
class Chart:
    """One picture: what console/_chart.html draws."""

    id: str
    title: str
    summary: str
    unit: tuple[str, str]  # singular, plural
    lines: list[Line]
    y_ticks: list[tuple[float, str]]
    x_ticks: list[tuple[float, str]]
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    right_edge: int = WIDTH - RIGHT
    top: int = TOP
    bottom_edge: int = HEIGHT - BOTTOM


def jj_mm(day: date) -> str:
    return day.strftime("%d/%m")


def count_text(value: float | None) -> str:
    """A count or a number of days; « — » for none (no item waiting has no age)."""
    return "—" if value is None else f"{value:.0f}"


def _ticks(top: float) -> list[float]:
    """Round values from 0 to at least `top`, 3 to 6 of them."""
    if top <= 0:
        return [0, 1]
    step = 10 ** math.floor(math.log10(top))
    for factor in (0.1, 0.2, 0.5, 1, 2, 5, 10):
        if top / (step * factor) <= 5:
            step *= factor
            break
    step = max(step, 1 if top >= 1 else 0.5)
    return [n * step for n in range(math.ceil(top / step - 1e-9) + 1)]


def _spread(wanted: list[float]) -> list[float]:
    """Label heights near the wanted ones, at least LABEL_GAP apart, within the plot."""
    order = sorted(range(len(wanted)), key=lambda i: wanted[i])
    placed = [0.0] * len(wanted)
    floor = TOP
    for i in order:
        placed[i] = max(wanted[i], floor)
        floor = placed[i] + LABEL_GAP
    overflow = max(0.0, max(placed, default=0) - (TOP + PLOT_H))
    return [y - overflow for y in placed]


def _chart(
    chart_id: str, title: str, unit: tuple[str, str], days: list[date],
    series: dict[str, list[float | None]], text: Any,
) -> Chart:
    ticks = _ticks(max((v for s in series.values() for v in s if v is not None), default=0))
    top = ticks[-1]

    def x(i: int) -> float:
        return round(LEFT + PLOT_W * i / max(1, len(days) - 1), 1)

    def y(value: float) -> float:
        return round(TOP + PLOT_H * (1 - value / top), 1)

    lines, ends = [], []
    for kind in FLOW_KINDS:
        values = series[kind]
        points = [(x(i), y(v)) for i, v in enumerate(values) if v is not None]
        path, pen_up = [], True
        for i, value in enumerate(values):
            if value is None:
                pen_up = True
                continue
            path.append(f"{'M' if pen_up else 'L'} {x(i)} {y(value)}")
            pen_up = False
        last = values[-1]
        ends.append(y(last) if last is not None else TOP + PLOT_H)
        style, dashes, shape = STYLES[kind]
        lines.append(Line(kind, KIND_LABELS[kind], style, dashes, shape, " ".join(path),
                          points, 0, text(last)))
    lines = [replace(line, label_y=round(label_y + 4, 1))
             for line, label_y in zip(lines, _spread(ends), strict=True)]
    step = 5
    x_ticks = [(x(i), jj_mm(day)) for i, day in enumerate(days)
               if (len(days) - 1 - i) % step == 0]
    y_ticks = [(y(v), f"{v:g}".replace(".", ",")) for v in ticks]
    def said(value: float | None) -> str:
        # French: 0 and 1 take the singular.
        return text(value) + ("" if value is None else f" {unit[value >= 2]}")

    peaks = {kind: max((v for v in series[kind] if v is not None), default=None)
             for kind in FLOW_KINDS}
    summary = (
        "Aujourd'hui : " + " ; ".join(f"{KIND_LABELS[k]}, {said(series[k][-1])}"
                                      for k in FLOW_KINDS)
        + f". Au plus, du {jj_mm(days[0])} au {jj_mm(days[-1])} : "
        + " ; ".join(f"{KIND_LABELS[k]}, {said(peaks[k])}" for k in FLOW_KINDS) + "."
    )
    return Chart(chart_id, title, summary, unit, lines, y_ticks, x_ticks)


def queue_charts(history: dict[str, list[dict[str, Any]]], now: datetime) -> dict[str, Any]:
    """The two pictures and the rows of their tables, from SupportQueueView.history()."""
    days = [point["day"] for point in history[FLOW_KINDS[0]]]
    waiting = {kind: [float(p["open"]) for p in history[kind]] for kind in FLOW_KINDS}
    ages = {kind: [p["oldest_days"] for p in history[kind]] for kind in FLOW_KINDS}
    return {
        "charts": [
            _chart("file-en-attente", "Demandes à traiter en fin de journée, par type",
                   ("demande", "demandes"), days, waiting, count_text),
            _chart("file-anciennete", AGE_TITLE, ("jour", "jours"), days, ages, count_text),
        ],
        "kinds": [(kind, KIND_LABELS[kind]) for kind in FLOW_KINDS],
        "rows": [
            {"day": jj_mm(day), "today": n == len(days) - 1,
             "open": [history[kind][n]["open"] for kind in FLOW_KINDS],
             "ages": [count_text(history[kind][n]["oldest_days"]) for kind in FLOW_KINDS]}
            for n, day in enumerate(days)
        ],
        "now": now,
    }
