"""The examples in the diagnosis modules' docstrings run as written."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = ["engine", "knowledge", "learning", "reading", "textnorm"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    module = importlib.import_module(f"posops.diagnosis.{name}")
    result = doctest.testmod(module)
    assert result.attempted > 0
    assert result.failed == 0
