"""`posops tickets …`: the desk lists, shows, assigns and closes tickets; refusals exit 2 with the reason."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from posops.cli import app
from posops.core.auth import Principal, Role
from posops.core.config import get_settings
from posops.core.db import Database
from posops.core.models import User
from posops.terminals.models import Merchant, Terminal
from posops.tickets import service
from posops.tickets.schemas import TicketIn, TransitionIn
from tests.helpers import cli_database

runner = CliRunner()


def _text(output: str) -> str:
    return " ".join(output.split())


@pytest.fixture
def cli_db(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[tuple[Database, int]]:
    db = cli_database(monkeypatch, tmp_path)
    with db.transaction() as session:
        merchant = Merchant(name="丙商户", legal_id="91310000CCCC00003Z", region="杭州")
        session.add(merchant)
        session.flush()
        terminal = Terminal(serial_number="SN-CLI-0001", model="Landi A8", tid="55501001", mid="898310000555001",
                            merchant_id=merchant.id, region="杭州")
        session.add(terminal)
        for name, role in (("wang", "agent"), ("li", "technician"), ("shop", "merchant")):
            session.add(User(username=name, role=role, password_hash="-", display_name=name,
                             merchant_id=merchant.id if role == "merchant" else None))
        session.flush()
        terminal_id = terminal.id
    desk = Principal(user_id=None, username="wang", role=Role.AGENT)
    ticket = service.create_ticket(db, desk, TicketIn(terminal_id=terminal_id, description="键盘失灵"))
    yield db, ticket.id
    get_settings.cache_clear()


def test_the_desk_assigns_and_the_list_and_page_show_it(cli_db: tuple[Database, int]) -> None:
    _, ticket = cli_db
    assigned = runner.invoke(app, ["tickets", "assign", str(ticket), "--as", "wang"])
    assert assigned.exit_code == 0, assigned.output
    assert f"ticket #{ticket} assigned to li" in _text(assigned.output), "the only technician is picked"
    listed = _text(runner.invoke(app, ["tickets", "list", "--open"]).output)
    assert "SN-CLI-0001" in listed and "assigned" in listed and "1 ticket(s)" in listed
    shown = _text(runner.invoke(app, ["tickets", "show", str(ticket)]).output)
    assert "键盘失灵" in shown and "assignee: li" in shown and "in_repair" in shown


def test_closing_too_early_or_as_a_merchant_exits_2(cli_db: tuple[Database, int]) -> None:
    _, ticket = cli_db
    early = runner.invoke(app, ["tickets", "close", str(ticket), "--as", "wang"])
    assert early.exit_code == 2 and "cannot become" in _text(early.output)
    merchant = runner.invoke(app, ["tickets", "assign", str(ticket), "--as", "shop"])
    assert merchant.exit_code == 2 and "role merchant may not" in _text(merchant.output)
    missing = runner.invoke(app, ["tickets", "show", "999"])
    assert missing.exit_code == 2 and "ticket not found" in _text(missing.output)


def test_an_accepted_ticket_closes(cli_db: tuple[Database, int]) -> None:
    db, ticket = cli_db
    desk = Principal(user_id=None, username="wang", role=Role.AGENT)
    for state in ("assigned", "in_repair", "repaired", "accepted"):
        service.transition(db, desk, ticket, TransitionIn(to=state))  # type: ignore[arg-type]
    closed = runner.invoke(app, ["tickets", "close", str(ticket), "--as", "wang", "--note", "商户已确认"])
    assert closed.exit_code == 0 and f"ticket #{ticket} closed" in closed.output
    assert "closed" in _text(runner.invoke(app, ["tickets", "list", "--status", "closed"]).output)


def test_the_desk_sets_a_technicians_regions(cli_db: tuple[Database, int]) -> None:
    done = runner.invoke(app, ["tickets", "technician", "li", "--region", "杭州", "--region", "宁波", "--as", "wang"])
    assert done.exit_code == 0 and "li: 杭州, 宁波; 0 open ticket(s)" in _text(done.output)
    unknown = runner.invoke(app, ["tickets", "technician", "nobody", "--as", "wang"])
    assert unknown.exit_code == 2 and "technician not found" in _text(unknown.output)
