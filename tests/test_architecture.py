"""The house rules hold for the tree, and each check catches a deliberate breach of its rule."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.architecture import (
    boundary_breaches,
    import_cycles,
    layout_breaches,
    tree_sources,
    write_breaches,
)

TREE = tree_sources()


def with_module(name: str, source: str) -> dict[str, str]:
    """The real tree with one module added or replaced."""
    return {**TREE, name: source}


def test_the_tree_keeps_every_rule() -> None:
    assert len(TREE) > 80, "the checks read the package"
    assert boundary_breaches(TREE) == []
    assert import_cycles(TREE) == []
    assert write_breaches(TREE) == []
    assert list(layout_breaches()) == []


@pytest.mark.parametrize(("module", "source", "expected"), [
    ("posops.core.bad", "from posops.terminals import service\n", "core imports posops.terminals.service"),
    ("posops.core.bad", "from posops import cli\n", "core imports posops.cli"),
    ("posops.diagnosis.bad", "def f():\n    from posops.diagnosis import engine\n", "inside a function"),
    ("posops.terminals.bad", "import sqlalchemy\n", "pure module but imports sqlalchemy"),
    ("posops.terminals.bad", "from fastapi import APIRouter\n", "pure module but imports fastapi"),
    ("posops.terminals.bad", "from posops.terminals import service\n", "pure module but imports"),
    ("posops.diagnosis.service", "from posops.terminals.views import router\n", "imports posops.terminals.views"),
    ("posops.diagnosis.service", "from posops.terminals import api\n", "imports posops.terminals.api"),
    ("posops.diagnosis.service", "from posops.telemetry.mqtt import TOPIC_ROOT\n", "adapter posops.telemetry.mqtt"),
    ("posops.iso8583.service", "from posops.telemetry import cli\n", "imports posops.telemetry.cli"),
])
def test_an_import_across_the_rules_is_reported(module: str, source: str, expected: str) -> None:
    breaches = boundary_breaches(with_module(module, source))
    assert any(expected in line and line.startswith(module) for line in breaches), breaches


def test_allowed_imports_are_not_reported() -> None:
    allowed = ("from posops.terminals import service as terminals\n"
               "from posops.terminals.models import Terminal\n"
               "from posops.terminals.lifecycle import TerminalStatus\n"
               "from posops.terminals.schemas import TerminalOut\n")
    assert boundary_breaches(with_module("posops.diagnosis.service", allowed)) == []


def test_an_import_cycle_is_reported() -> None:
    doctored = with_module("posops.terminals.arrears",
                           TREE["posops.terminals.arrears"] + "\nfrom posops.terminals import notices\n")
    assert ["posops.terminals.arrears", "posops.terminals.notices"] in import_cycles(doctored)


FOREIGN = """from sqlalchemy import select, update
from posops.terminals import service as terminals
from posops.terminals.models import Terminal


def {name}(session, principal):
{body}
"""


@pytest.mark.parametrize(("body", "expected"), [
    ("    return session.scalars(select(Terminal).with_for_update())", "locks rows"),
    ("    session.add(Terminal(serial_number='x'))", "creates a Terminal row"),
    ("    session.execute(update(Terminal).values(status='x'))", "writes another feature's table with update()"),
    ("    terminal = session.get(Terminal, 1)\n    terminal.status = 'x'", "sets terminal.status"),
    ("    for t in session.scalars(select(Terminal)):\n        t.region = 'x'", "sets t.region"),
    ("    t = terminals.load_terminal(session, principal, 1)\n    t.region = 'x'", "sets t.region"),
    ("    found = terminals.lock_terminals_by_tid(session, principal, ['1'])\n"
     "    for t in found.values():\n        t.must_sign_in = False", "sets t.must_sign_in"),
    ("    t = session.get(Terminal, 1)\n    session.delete(t)", "deletes another feature's row"),
])
def test_a_write_to_another_features_rows_is_reported(body: str, expected: str) -> None:
    source = FOREIGN.format(name="breach", body=body)
    breaches = write_breaches(with_module("posops.iso8583.bad", source))
    assert any(expected in line for line in breaches), breaches


def test_reading_another_features_rows_is_allowed() -> None:
    body = ("    ids = list(session.scalars(select(Terminal.id).where(Terminal.model == 'x')))\n"
            "    terminal = terminals.load_terminal(session, principal, ids[0])\n"
            "    summary = dict(serial=terminal.serial_number)\n"
            "    summary['model'] = terminal.model\n"
            "    return summary")
    assert write_breaches(with_module("posops.iso8583.bad", FOREIGN.format(name="reads", body=body))) == []


def test_collecting_values_read_from_another_features_rows_is_allowed_but_adding_a_row_is_not() -> None:
    body = ("    seen = {}\n"
            "    for terminal_id, model in session.execute(select(Terminal.id, Terminal.model)):\n"
            "        seen[model].add(terminal_id)\n"
            "    for terminal in session.scalars(select(Terminal)):\n"
            "        session.add(terminal)\n"
            "    return seen")
    breaches = write_breaches(with_module("posops.iso8583.bad", FOREIGN.format(name="collects", body=body)))
    assert len(breaches) == 1 and "adds another feature's row" in breaches[0]


def test_a_suffixed_module_name_is_reported(tmp_path: Path) -> None:
    (tmp_path / "posops" / "tickets").mkdir(parents=True)
    (tmp_path / "posops" / "tickets" / "loaner_service.py").write_text('"""x"""\n', encoding="utf-8")
    assert [line for line in layout_breaches(tmp_path) if "loaner_service.py" in line]
