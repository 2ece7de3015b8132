"""Server-side SVG charts: self-contained, escaped, gaps where a terminal went quiet."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta

from posops.telemetry.charts import Reference, line_chart

T0 = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)
SVG = "{http://www.w3.org/2000/svg}"


def chart(points: list[tuple[datetime, float]], **options: object) -> ET.Element:
    svg = line_chart(points, since=T0, until=T0 + timedelta(hours=1), y_min=0, y_max=100,
                     label=str(options.pop("label", "battery")), **options)  # type: ignore[arg-type]
    return ET.fromstring(svg)


def test_a_chart_is_one_svg_without_external_references() -> None:
    root = chart([(T0 + timedelta(minutes=m), 50 + m / 2) for m in range(0, 60, 5)], unit="%")
    text = ET.tostring(root, encoding="unicode")
    assert root.tag == f"{SVG}svg" and root.get("viewBox") == "0 0 360 150"
    assert not re.search(r"(href|src)=|url\(|<script", text)
    [line] = root.iter(f"{SVG}polyline")
    assert len(line.get("points", "").split()) == 12
    labels = [t.text for t in root.iter(f"{SVG}text")]
    assert "08:00" in labels and "09:00" in labels and "100%" in labels and "78%" in labels, "axes, last value 77.5"


def test_higher_values_are_drawn_higher() -> None:
    root = chart([(T0, 10.0), (T0 + timedelta(minutes=30), 90.0)])
    [line] = root.iter(f"{SVG}polyline")
    (x1, y1), (x2, y2) = (tuple(map(float, p.split(","))) for p in line.get("points", "").split())
    assert x2 > x1 and y2 < y1


def test_points_further_apart_than_the_gap_are_not_joined() -> None:
    points = [(T0 + timedelta(minutes=m), 50.0) for m in (0, 1, 2, 30, 31)]
    root = chart(points, gap=timedelta(minutes=5))
    assert [len(p.get("points", "").split()) for p in root.iter(f"{SVG}polyline")] == [3, 2]


def test_labels_are_escaped_and_an_empty_chart_says_so() -> None:
    root = chart([], label='<b onload="x">', empty_text="暂无数据",
                 references=[Reference(20, "<20%>", "warn")])
    assert root.get("aria-label") == '<b onload="x">', "escaped in the markup, intact once parsed"
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert "暂无数据" in texts and "<20%>" in texts
    assert list(root.iter(f"{SVG}polyline")) == []


def test_scale_and_unit_format_shares_as_percentages() -> None:
    svg = line_chart([(T0, 0.25)], since=T0, until=T0 + timedelta(hours=1), y_min=0, y_max=1, unit="%", scale=100,
                     label="share")
    assert ">25%<" in svg and ">100%<" in svg and ">50%<" in svg
