"""Shape checks of the knowledge-base loaders: what they accept, and errors that name the file and the entry."""

from __future__ import annotations

import math
from typing import Any

import pytest

from posops.diagnosis.errors import KnowledgeError
from posops.diagnosis.yamlcheck import as_list, finite, mapping, positive_number


@pytest.mark.parametrize(("value", "expected"), [
    (1, True), (0.5, True), (-2, True), (True, False), (math.inf, False), (math.nan, False), ("1", False),
    (None, False),
])
def test_finite_accepts_only_real_finite_numbers(value: Any, expected: bool) -> None:
    assert finite(value) is expected


def test_positive_number_returns_a_float() -> None:
    assert positive_number(3, "causes.yaml", "cause x", "cost") == 3.0


@pytest.mark.parametrize("value", [0, -1, True, math.inf, "2", None])
def test_positive_number_names_what_was_wrong(value: Any) -> None:
    with pytest.raises(KnowledgeError) as caught:
        positive_number(value, "checks.yaml", "check power_led", "cost")
    assert str(caught.value) == f"checks.yaml: check power_led: cost must be a positive number, got {value!r}"


def test_mapping_and_list_pass_the_right_shape_through() -> None:
    doc = {"a": 1}
    assert mapping(doc, "f.yaml", "top") is doc
    items = [1, 2]
    assert as_list(items, "f.yaml", "top") is items


@pytest.mark.parametrize(("check", "raw", "message"), [
    (mapping, [1], "expected a mapping, got list"),
    (mapping, None, "expected a mapping, got NoneType"),
    (as_list, {"a": 1}, "expected a list, got dict"),
    (as_list, "x", "expected a list, got str"),
])
def test_wrong_shapes_say_what_was_found(check: Any, raw: Any, message: str) -> None:
    with pytest.raises(KnowledgeError) as caught:
        check(raw, "lexicon.yaml", "concepts[0]")
    assert str(caught.value) == f"lexicon.yaml: concepts[0]: {message}"
