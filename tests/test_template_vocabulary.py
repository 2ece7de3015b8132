"""Console templates name vocabulary members (``SessionStatus.OPEN``) instead of spelling a status or kind."""

from __future__ import annotations

import re
from pathlib import Path

import posops.app  # noqa: F401  (importing the app imports every feature's views, which register)
from posops.core.web import templates

PACKAGE = Path(__file__).resolve().parent.parent / "src" / "posops"
NAMED = re.compile(r"\b([A-Z][A-Za-z]+(?:Status|Kind|Outcome|Entity))\.")
SPELLED = re.compile(r"\b(?:status|kind)\s*(?:==|!=)\s*['\"]")


def test_no_template_compares_a_status_or_kind_to_a_literal() -> None:
    offenders = [f"{path.relative_to(PACKAGE)}:{number}"
                 for path in sorted(PACKAGE.glob("*/templates/**/*.html"))
                 for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
                 if SPELLED.search(line)]
    assert offenders == []


def test_every_vocabulary_a_template_names_is_registered() -> None:
    named = {match for path in PACKAGE.glob("*/templates/**/*.html")
             for match in NAMED.findall(path.read_text(encoding="utf-8"))}
    assert named, "templates name no vocabulary at all"
    assert named <= set(templates.env.globals)
