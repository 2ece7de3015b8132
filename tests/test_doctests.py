"""Every module's `>>>` examples run: the package is walked, so a new module's examples are picked up."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import posops

# not imported: Alembic revision scripts run only inside Alembic, and `__main__` runs the CLI when imported
NOT_IMPORTED = (".migrations.", ".__main__.")


def _modules_with_examples() -> list[str]:
    names = [info.name for info in pkgutil.walk_packages(posops.__path__, "posops.")
             if not any(part in f"{info.name}." for part in NOT_IMPORTED)]
    finder = doctest.DocTestFinder()
    return [name for name in names if any(test.examples for test in finder.find(importlib.import_module(name)))]


@pytest.mark.parametrize("module_name", _modules_with_examples())
def test_module_examples(module_name: str) -> None:
    result = doctest.testmod(importlib.import_module(module_name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed in {module_name}"
