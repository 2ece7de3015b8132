"""Every error a use case raises is said from the message catalogue, so a zh-CN page never shows an English refusal."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from pydantic import BaseModel, Field, ValidationError

from posops.core.errors import Invalid, NotFound, Problem, field_label, input_problems
from posops.core.forms import refusal
from posops.core.i18n import catalog
from posops.core.labels import catalog_sentence

SRC = Path(__file__).resolve().parents[2] / "src" / "posops"
ERRORS = {"PosopsError", "NotFound", "Conflict", "Forbidden", "Unauthorized", "Invalid", "StepError"}
BILINGUAL_CALLS = {"catalog_sentence", "Label", "catalog_label"}
"""What may stand for an error's words instead of ``key=``: a sentence or name already in both languages."""


def _name(node: ast.expr) -> str:
    return node.id if isinstance(node, ast.Name) else node.attr if isinstance(node, ast.Attribute) else ""


def _said_in_both(call: ast.Call) -> bool:
    if any(k.arg == "key" for k in call.keywords):
        return True
    words = call.args[1] if _name(call.func) in {"Invalid", "StepError"} and len(call.args) > 1 else \
        call.args[0] if call.args and _name(call.func) not in {"Invalid", "StepError"} else None
    return (isinstance(words, ast.Call) and _name(words.func) in BILINGUAL_CALLS) or \
        isinstance(words, ast.Attribute | ast.Name)  # a Label computed elsewhere, e.g. ``problem`` or ``said``


def _raised_errors() -> list[tuple[str, int, ast.Call]]:
    found = []
    for path in sorted(SRC.rglob("*.py")):
        if path.name == "errors.py" and path.parent.name == "core":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call) and _name(node.exc.func) in ERRORS:
                found.append((str(path.relative_to(SRC)), node.lineno, node.exc))
    return found


def test_every_raised_error_is_said_from_the_catalogue() -> None:
    raised = _raised_errors()
    assert len(raised) > 50, "the scan finds the use cases' errors"
    english_only = [f"{where}:{line}" for where, line, call in raised if not _said_in_both(call)]
    assert english_only == []


def test_every_key_an_error_names_is_in_the_catalogue() -> None:
    keys = {kw.value.value for _, _, call in _raised_errors() for kw in call.keywords
            if kw.arg == "key" and isinstance(kw.value, ast.Constant)}
    assert keys, "errors name catalogue keys"
    assert sorted(keys - set(catalog())) == []


def test_pydantic_refusals_are_said_in_both_languages_without_the_input() -> None:
    class Form(BaseModel):
        name: str = Field(max_length=3)
        page: int = Field(ge=1)

    secret = "x" * 5000
    with pytest.raises(ValidationError) as caught:
        Form.model_validate({"name": secret, "page": "abc"})
    problems = input_problems(caught.value.errors())
    assert [p.field for p in problems] == ["name", "page"]
    assert problems[0].reason.zh == "最多 3 个字符。" and problems[1].reason.en == "must be a whole number."
    detail = Invalid.many(problems).detail()
    assert secret not in str(detail) and detail["fields"][1]["message"]["zh-CN"] == "须为整数。"


def test_a_refusal_names_fields_in_the_page_language() -> None:
    error = Invalid.many([Problem("devices.0.serial_number", catalog_sentence("error.invalid.required"), None),
                          Problem("contact_phone", catalog_sentence("error.input.string_too_long", max_length=32))])
    assert refusal(error, "zh-CN").message == "序列号：必填；联系电话：最多 32 个字符"
    assert refusal(error, "en").message == "serial number: required; contact phone: takes at most 32 characters"
    assert field_label("tid").zh == "终端号 TID"
    assert refusal(NotFound(key="error.not_found.terminal"), "zh-CN").message == "找不到该终端。"
