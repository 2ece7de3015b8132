"""Line charts as inline SVG, rendered on the server: no script, no external asset, readable on a phone.

>>> from datetime import datetime, timedelta, timezone
>>> t0 = datetime(2025, 3, 1, tzinfo=timezone.utc)
>>> svg = line_chart([(t0, 80), (t0 + timedelta(hours=1), 60)], since=t0, until=t0 + timedelta(hours=1),
...                  y_min=0, y_max=100, label="battery")
>>> svg.startswith("<svg") and "<polyline" in svg
True
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from html import escape
from itertools import pairwise

WIDTH, HEIGHT = 360, 150
LEFT, RIGHT, TOP, BOTTOM = 40, 10, 10, 22
LABEL_GAP = 11
"""Least vertical distance between two reference labels, in chart units (their font is 9)."""
LINE_COLOUR = "#1656c1"
REFERENCE_COLOURS = {"bad": "#c01c28", "warn": "#b54708", "muted": "#667085"}


@dataclass(frozen=True)
class Reference:
    """A horizontal line drawn across the chart, such as a threshold or a baseline."""

    value: float
    label: str
    tone: str = "muted"
    """bad, warn or muted."""


def _format(value: float, unit: str) -> str:
    text = f"{value:.0f}" if abs(value) >= 10 or value == int(value) else f"{value:.2g}"
    return f"{text}{unit}"


def line_chart(points: Sequence[tuple[datetime, float]], *, since: datetime, until: datetime, y_min: float,
               y_max: float, label: str, unit: str = "", scale: float = 1.0,
               references: Sequence[Reference] = (), gap: timedelta | None = None,
               empty_text: str = "—", zone: tzinfo | None = None) -> str:
    """An SVG line chart of ``points`` over ``[since, until]`` with the y axis from ``y_min`` to ``y_max``.

    Values are shown multiplied by ``scale`` (0.25 with ``scale=100`` and ``unit="%"`` reads 25%).
    Points further apart than ``gap`` are not joined: a terminal that went quiet leaves a hole.
    Times on the x axis are shown in ``zone`` (UTC when None); reference labels never overlap.
    """
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    span = (until - since).total_seconds() or 1.0
    y_span = (y_max - y_min) or 1.0

    def x(at: datetime) -> float:
        return LEFT + plot_w * min(max((at - since).total_seconds() / span, 0.0), 1.0)

    def y(value: float) -> float:
        return TOP + plot_h * (1 - min(max((value - y_min) / y_span, 0.0), 1.0))

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
             f'aria-label="{escape(label)}" class="chart">',
             f"<title>{escape(label)}</title>",
             f'<rect x="{LEFT}" y="{TOP}" width="{plot_w}" height="{plot_h}" fill="#fff" stroke="#e4e7ec"/>']
    for fraction in (0.0, 0.5, 1.0):
        value = y_min + fraction * y_span
        parts.append(f'<line x1="{LEFT}" x2="{LEFT + plot_w}" y1="{y(value):.1f}" y2="{y(value):.1f}" '
                     f'stroke="#e4e7ec"/>')
        parts.append(f'<text x="{LEFT - 4}" y="{y(value) + 4:.1f}" font-size="10" text-anchor="end" '
                     f'fill="#667085">{escape(_format(value * scale, unit))}</text>')
    for index, fraction in enumerate((0.0, 0.5, 1.0)):
        at = since + (until - since) * fraction
        anchor = ("start", "middle", "end")[index]
        parts.append(f'<text x="{LEFT + plot_w * fraction:.1f}" y="{HEIGHT - 6}" font-size="10" '
                     f'text-anchor="{anchor}" fill="#667085">{at.astimezone(zone or UTC):%H:%M}</text>')
    label_ys = _spread([y(ref.value) - 3 for ref in references], LABEL_GAP, TOP + 9, TOP + plot_h - 2)
    for ref, label_y in zip(references, label_ys, strict=True):
        colour = REFERENCE_COLOURS.get(ref.tone, REFERENCE_COLOURS["muted"])
        parts.append(f'<line x1="{LEFT}" x2="{LEFT + plot_w}" y1="{y(ref.value):.1f}" y2="{y(ref.value):.1f}" '
                     f'stroke="{colour}" stroke-dasharray="4 3"/>')
        parts.append(f'<text x="{LEFT + plot_w - 2}" y="{label_y:.1f}" font-size="9" text-anchor="end" '
                     f'fill="{colour}">{escape(ref.label)}</text>')
    ordered = sorted((p for p in points if since <= p[0] <= until), key=lambda p: p[0])
    if not ordered:
        parts.append(f'<text x="{LEFT + plot_w / 2}" y="{TOP + plot_h / 2}" font-size="12" text-anchor="middle" '
                     f'fill="#667085">{escape(empty_text)}</text>')
    for run in _runs(ordered, gap):
        coords = " ".join(f"{x(at):.1f},{y(value):.1f}" for at, value in run)
        if len(run) == 1:
            parts.append(f'<circle cx="{x(run[0][0]):.1f}" cy="{y(run[0][1]):.1f}" r="2" fill="{LINE_COLOUR}"/>')
        else:
            parts.append(f'<polyline points="{coords}" fill="none" stroke="{LINE_COLOUR}" stroke-width="1.8" '
                         f'stroke-linejoin="round"/>')
    if ordered:
        at, value = ordered[-1]
        parts.append(f'<circle cx="{x(at):.1f}" cy="{y(value):.1f}" r="3" fill="{LINE_COLOUR}"/>')
        parts.append(f'<text x="{min(x(at), LEFT + plot_w - 2):.1f}" y="{max(y(value) - 6, TOP + 9):.1f}" '
                     f'font-size="10" text-anchor="end" fill="{LINE_COLOUR}">'
                     f"{escape(_format(value * scale, unit))}</text>")
    parts.append("</svg>")
    return "".join(parts)


def _spread(ys: Sequence[float], gap: float, low: float, high: float) -> list[float]:
    """Move label positions apart so that no two are closer than ``gap``, keeping their order and the bounds.

    >>> _spread([50.0, 52.0, 90.0], 10, 0, 100)
    [50.0, 60.0, 90.0]
    """
    order = sorted(range(len(ys)), key=lambda i: ys[i])
    placed = [min(max(v, low), high) for v in ys]
    for previous, current in pairwise(order):
        placed[current] = max(placed[current], placed[previous] + gap)
    overflow = max([placed[i] - high for i in order] + [0.0])
    return [v - overflow for v in placed] if overflow else placed


def _runs(points: Sequence[tuple[datetime, float]],
          gap: timedelta | None) -> list[list[tuple[datetime, float]]]:
    runs: list[list[tuple[datetime, float]]] = []
    for point in points:
        if runs and (gap is None or point[0] - runs[-1][-1][0] <= gap):
            runs[-1].append(point)
        else:
            runs.append([point])
    return runs


SERIES_COLOURS = {"line": LINE_COLOUR, "ok": "#138a52", "bad": "#c01c28", "warn": "#b54708", "muted": "#667085"}
LEGEND_ROW = 14
"""Height of the legend row above the plot of a chart with several lines."""


@dataclass(frozen=True)
class Series:
    """One line of a chart with several: its points, its name in the legend and its tone (a SERIES_COLOURS key)."""

    label: str
    points: Sequence[tuple[datetime, float]]
    tone: str = "line"


def lines_chart(series: Sequence[Series], *, since: datetime, until: datetime, y_min: float, y_max: float,
                label: str, unit: str = "", scale: float = 1.0, empty_text: str = "—",
                zone: tzinfo | None = None) -> str:
    """An SVG chart of several lines over ``[since, until]``, each named in a legend above the plot.

    >>> t0 = datetime(2025, 3, 1, tzinfo=UTC)
    >>> svg = lines_chart([Series("installed", [(t0, 0.1), (t0 + timedelta(hours=1), 0.9)], "ok"),
    ...                    Series("failed", [(t0, 0.0)], "bad")], since=t0, until=t0 + timedelta(hours=1),
    ...                   y_min=0, y_max=1, label="wave 1")
    >>> svg.count("<polyline"), svg.count("<circle"), "installed" in svg
    (1, 1, True)
    """
    top = TOP + LEGEND_ROW
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - top - BOTTOM
    span = (until - since).total_seconds() or 1.0
    y_span = (y_max - y_min) or 1.0

    def x(at: datetime) -> float:
        return LEFT + plot_w * min(max((at - since).total_seconds() / span, 0.0), 1.0)

    def y(value: float) -> float:
        return top + plot_h * (1 - min(max((value - y_min) / y_span, 0.0), 1.0))

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
             f'aria-label="{escape(label)}" class="chart">', f"<title>{escape(label)}</title>",
             f'<rect x="{LEFT}" y="{top}" width="{plot_w}" height="{plot_h}" fill="#fff" stroke="#e4e7ec"/>']
    for fraction in (0.0, 0.5, 1.0):
        value = y_min + fraction * y_span
        parts.append(f'<line x1="{LEFT}" x2="{LEFT + plot_w}" y1="{y(value):.1f}" y2="{y(value):.1f}" '
                     f'stroke="#e4e7ec"/><text x="{LEFT - 4}" y="{y(value) + 4:.1f}" font-size="10" '
                     f'text-anchor="end" fill="#667085">{escape(_format(value * scale, unit))}</text>')
        at = since + (until - since) * fraction
        anchor = {0.0: "start", 0.5: "middle", 1.0: "end"}[fraction]
        parts.append(f'<text x="{LEFT + plot_w * fraction:.1f}" y="{HEIGHT - 6}" font-size="10" '
                     f'text-anchor="{anchor}" fill="#667085">{at.astimezone(zone or UTC):%H:%M}</text>')
    legend_x = float(LEFT)
    for line in series:
        colour = SERIES_COLOURS.get(line.tone, LINE_COLOUR)
        parts.append(f'<rect x="{legend_x:.1f}" y="{TOP}" width="10" height="3" fill="{colour}"/>'
                     f'<text x="{legend_x + 13:.1f}" y="{TOP + 4}" font-size="9" fill="{colour}">'
                     f"{escape(line.label)}</text>")
        legend_x += 22 + 5.5 * sum(2 if ord(c) > 0x2e80 else 1 for c in line.label)
        ordered = sorted((p for p in line.points if since <= p[0] <= until), key=lambda p: p[0])
        if len(ordered) == 1:
            parts.append(f'<circle cx="{x(ordered[0][0]):.1f}" cy="{y(ordered[0][1]):.1f}" r="2.5" fill="{colour}"/>')
        elif ordered:
            coords = " ".join(f"{x(at):.1f},{y(value):.1f}" for at, value in ordered)
            parts.append(f'<polyline points="{coords}" fill="none" stroke="{colour}" stroke-width="1.8" '
                         f'stroke-linejoin="round"/>')
    if not any(line.points for line in series):
        parts.append(f'<text x="{LEFT + plot_w / 2}" y="{top + plot_h / 2}" font-size="12" text-anchor="middle" '
                     f'fill="#667085">{escape(empty_text)}</text>')
    parts.append("</svg>")
    return "".join(parts)
