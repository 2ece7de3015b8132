"""Horizontal bar and stacked-bar charts as inline SVG: full width, fixed-size text, one label per line.

Each row puts its label on lines of its own above the bar, wrapped to what fits a 390 px phone, and
a bar's figure just past its end (a stacked row's after its label); bars are drawn in percent of
the chart's width, so a chart fills a desktop card while its text keeps its size and no two labels
ever share a line.

>>> svg = bar_chart([Bar("欠费", 3, "/terminals?status=suspended&reason=arrears"), Bar("Dormant", 1)],
...                 title="by reason", empty_text="—")
>>> svg.startswith("<svg"), svg.count("<rect"), 'href="/terminals?status=suspended&amp;reason=arrears"' in svg
(True, 2, True)
>>> wrap("Card cannot be read (swipe, chip or contactless)", 16)
['Card cannot be read', '(swipe, chip or', 'contactless)']
>>> wrap("网络连接失败/交易超时", 6)
['网络连接失败', '/交易超时']
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

FONT_PX = 12
LINE_PX = 18
"""A label line: 1.5 em, as CJK fonts rise and fall about 1.45 em around their text."""
BASELINE_PX = 14
"""Where a row's first label line sits below the row's top (the tallest glyphs must not leave the chart)."""
BAR_PX = 14
ROW_GAP_PX = 12
BAR_SPAN_PCT = 70.0
"""The share of the chart's width the longest bar takes; the rest holds the figure after it."""
LABEL_EMS = 25.0
"""How wide a label line may be, in ems: a 390 px phone leaves about 324 px (27 ems of 12 px) in a card."""
MAX_LABEL_LINES = 3
TONES = {"brand": "#1656c1", "ok": "#138a52", "bad": "#c01c28", "warn": "#b54708", "muted": "#98a2b3"}
TEXT_COLOUR = "#1d2433"
MUTED_COLOUR = "#667085"


@dataclass(frozen=True)
class Bar:
    """One row of a bar chart: its label, its value and the list it counts (if there is one)."""

    label: str
    value: int
    href: str | None = None
    key: str = ""
    """A stable name for the row (``data-key``), such as the status or reason it counts."""
    detail: str = ""
    """What a pointer resting on the row reads (its ``<title>``), in the page's language; none if empty."""


@dataclass(frozen=True)
class Segment:
    """One part of a stacked bar: how many, in which tone (ok, bad, muted …), and what they are."""

    value: int
    tone: str
    label: str


@dataclass(frozen=True)
class StackedRow:
    """One row of a stacked-bar chart: the label, its parts (drawn as shares of their sum) and a figure."""

    label: str
    segments: Sequence[Segment]
    figure: str
    """What is written after the label, such as the online share."""
    key: str = ""
    detail: str = ""
    """What a pointer resting on the row reads (its ``<title>``), in the page's language; none if empty."""


def text_ems(text: str) -> float:
    """How wide ``text`` runs in ems, generously: a wide (CJK) character is 1 em, any other 0.62 em.

    >>> text_ems("上海 A920")
    5.1
    """
    return round(sum(1.0 if unicodedata.east_asian_width(c) in "WF" else 0.62 for c in text), 2)


def _pieces(text: str) -> list[str]:
    """Break points of a label: every wide character alone, other runs word by word (a space kept in front)."""
    pieces: list[str] = []
    for char in text:
        wide = unicodedata.east_asian_width(char) in "WF"
        if wide or not pieces or char == " " or unicodedata.east_asian_width(pieces[-1][-1]) in "WF":
            pieces.append(char)
        else:
            pieces[-1] += char
    return pieces


def wrap(text: str, ems: float = LABEL_EMS, max_lines: int = MAX_LABEL_LINES) -> list[str]:
    """Lines of at most ``ems`` ems each, broken between words or wide characters; the last ends in … if cut."""
    lines: list[str] = []
    current = ""
    for piece in _pieces(" ".join(text.split())):
        candidate = current + piece if current else piece.lstrip()
        if current and text_ems(candidate) > ems:
            lines.append(current)
            candidate = piece.lstrip()
        while text_ems(candidate) > ems:  # a single word wider than a line: cut it
            cut = len(candidate)
            while cut > 1 and text_ems(candidate[:cut]) > ems:
                cut -= 1
            lines.append(candidate[:cut])
            candidate = candidate[cut:]
        current = candidate
    if current or not lines:
        lines.append(current)
    if len(lines) > max_lines:
        last = lines[max_lines - 1]
        while last and text_ems(last + "…") > ems:
            last = last[:-1]
        lines = [*lines[: max_lines - 1], last.rstrip() + "…"]
    return lines


def _tooltip(detail: str) -> list[str]:
    return [f"<title>{escape(detail)}</title>"] if detail else []


def _label(lines: Sequence[str], top: float) -> list[str]:
    return [f'<text x="0" y="{top + BASELINE_PX + i * LINE_PX:.0f}" font-size="{FONT_PX}" fill="{TEXT_COLOUR}">'
            f"{escape(line)}</text>" for i, line in enumerate(lines)]


def _figure(text: str, at_pct: float, bar_top: float) -> str:
    return (f'<text x="{at_pct:.2f}%" dx="6" y="{bar_top + BAR_PX - 3:.0f}" font-size="{FONT_PX}" '
            f'fill="{MUTED_COLOUR}">{escape(text)}</text>')


def _open(title: str, height: float, linked: bool) -> str:
    role = "" if linked else ' role="img"'
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="100%" height="{height:.0f}"{role} '
            f'aria-label="{escape(title)}" class="home-chart">'
            f"<title>{escape(title)}</title>")


def _empty(title: str, empty_text: str) -> str:
    return (_open(title, LINE_PX * 2, False) + f'<text x="0" y="{LINE_PX + 4}" font-size="{FONT_PX}" '
            f'fill="{MUTED_COLOUR}">{escape(empty_text)}</text></svg>')


def bar_chart(bars: Sequence[Bar], *, title: str, empty_text: str, tone: str = "brand") -> str:
    """Horizontal bars scaled to the largest value; each figure reads ``value · share%`` of the total."""
    shown = [b for b in bars if b.value > 0]
    if not shown:
        return _empty(title, empty_text)
    most = max(b.value for b in shown)
    total = sum(b.value for b in shown)
    colour = TONES.get(tone, TONES["brand"])
    parts: list[str] = []
    top = 0.0
    for bar in shown:
        lines = wrap(bar.label)
        bar_top = top + len(lines) * LINE_PX + 4
        width = BAR_SPAN_PCT * bar.value / most
        row = [*_tooltip(bar.detail), *_label(lines, top),
               f'<rect x="0" y="{bar_top:.0f}" width="{width:.2f}%" height="{BAR_PX}" rx="2" fill="{colour}"/>',
               _figure(f"{bar.value} · {round(100 * bar.value / total)}%", width, bar_top)]
        key = f' data-key="{escape(bar.key)}" data-value="{bar.value}"'
        if bar.href:
            parts.append(f'<a href="{escape(bar.href)}" class="home-chart-row"{key}>{"".join(row)}</a>')
        else:
            parts.append(f'<g class="home-chart-row"{key}>{"".join(row)}</g>')
        top = bar_top + BAR_PX + ROW_GAP_PX
    return _open(title, top - ROW_GAP_PX + 2, any(b.href for b in shown)) + "".join(parts) + "</svg>"


def stacked_chart(rows: Sequence[StackedRow], *, title: str, empty_text: str) -> str:
    """One full-width bar per row, split into its segments' shares, under the row's label and figure."""
    shown = [r for r in rows if sum(s.value for s in r.segments) > 0]
    if not shown:
        return _empty(title, empty_text)
    parts: list[str] = []
    top = 0.0
    for row in shown:
        lines = wrap(f"{row.label} · {row.figure}")
        bar_top = top + len(lines) * LINE_PX + 4
        total = sum(s.value for s in row.segments)
        drawn = [*_tooltip(row.detail), *_label(lines, top)]
        start = 0.0
        for segment in (s for s in row.segments if s.value > 0):
            width = 100.0 * segment.value / total
            drawn.append(f'<rect x="{start:.2f}%" y="{bar_top:.0f}" width="{width:.2f}%" height="{BAR_PX}" '
                         f'fill="{TONES.get(segment.tone, TONES["muted"])}" data-tone="{escape(segment.tone)}" '
                         f'data-value="{segment.value}"/>')
            start += width
        parts.append(f'<g class="home-chart-row" data-key="{escape(row.key)}" data-total="{total}">'
                     f'{"".join(drawn)}</g>')
        top = bar_top + BAR_PX + ROW_GAP_PX
    return _open(title, top - ROW_GAP_PX + 2, False) + "".join(parts) + "</svg>"
