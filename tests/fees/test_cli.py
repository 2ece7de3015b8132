"""`posops fees …`: example cards loaded once and labelled, cards from a file, a statement, compare and check."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from posops.cli import app
from posops.core.auth import OPERATOR
from posops.core.config import get_settings
from posops.core.db import Database
from posops.core.models import User
from posops.fees import service as fees
from posops.fees.pricing import EXAMPLE_CARDS
from posops.terminals.models import Merchant
from tests.helpers import cli_database

runner = CliRunner()


def _text(output: str) -> str:
    return " ".join(output.split())


@pytest.fixture
def cli_db(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[tuple[Database, int]]:
    db = cli_database(monkeypatch, tmp_path)
    with db.transaction() as session:
        merchant = Merchant(name="费率命令行商户", legal_id="91310000FEECLI001X", region="上海")
        session.add(merchant)
        for name, role in (("wang", "agent"), ("zhao", "risk"), ("sun", "technician")):
            session.add(User(username=name, role=role, password_hash="-", display_name=name))
        session.flush()
        merchant_id = merchant.id
    yield db, merchant_id
    get_settings.cache_clear()


def test_examples_load_once_labelled_and_compare_ranks_them(cli_db: tuple[Database, int], tmp_path: Path) -> None:
    db, merchant = cli_db
    first = runner.invoke(app, ["fees", "examples", "load", "--as", "wang"])
    assert first.exit_code == 0, first.output
    assert f"{len(EXAMPLE_CARDS)} example card(s) loaded, 0 already there" in _text(first.output)
    again = runner.invoke(app, ["fees", "examples", "load", "--as", "wang"])
    assert f"0 example card(s) loaded, {len(EXAMPLE_CARDS)} already there" in _text(again.output)

    listed = runner.invoke(app, ["fees", "cards", "list"])
    assert listed.exit_code == 0 and _text(listed.output).count("(example)") >= len(EXAMPLE_CARDS)

    card = fees.list_rate_cards(db, OPERATOR)[0]
    contract = runner.invoke(app, ["fees", "contract", "--merchant", str(merchant), "--card", str(card.id),
                                   "--mcc", "5411", "--as", "wang"])
    assert contract.exit_code == 0, contract.output
    statement = tmp_path / "statement.csv"
    statement.write_text("日期,渠道,卡种,金额,charged_fen\n2026-11-02,刷卡,信用卡,300.00,180\n"
                         "2026-11-03,刷卡,借记卡,10000.00,3000\n", encoding="utf-8")
    imported = runner.invoke(app, ["fees", "statement", "import", str(merchant), str(statement), "--as", "wang"])
    assert imported.exit_code == 0, imported.output
    assert "1 line(s) overcharged by 10.00 元" in _text(imported.output)

    compared = runner.invoke(app, ["fees", "compare", "--merchant", str(merchant), "--json"])
    assert compared.exit_code == 0, compared.output
    body = json.loads(compared.output)
    months = [cost["month_fen"] for cost in body["costs"] if not cost["unpriced_count"]]
    assert months == sorted(months) and body["mix"]["source"] == "statement"
    table = runner.invoke(app, ["fees", "compare", "--merchant", str(merchant)])
    assert "current" in table.output and "mix from statement" in _text(table.output)

    checked = runner.invoke(app, ["fees", "check", "--merchant", str(merchant), "--as", "zhao"])
    assert checked.exit_code == 0 and "0 new flag(s)" in _text(checked.output)  # flagged on import already


def test_cards_from_a_file_and_bad_input_exit_2(cli_db: tuple[Database, int], tmp_path: Path) -> None:
    good = tmp_path / "cards.yaml"
    body = fees.card_in(EXAMPLE_CARDS[0]).model_dump(mode="json")
    good.write_text(json.dumps({"cards": [{**body, "provider": "文件支付", "is_example": False}]},
                                ensure_ascii=False), encoding="utf-8")
    added = runner.invoke(app, ["fees", "cards", "add", str(good), "--as", "wang"])
    assert added.exit_code == 0 and "1 added, 0 already stored" in _text(added.output), added.output

    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps([{**body, "rates": [{"channel": "card", "card_type": "credit", "rate_bp": "abc"}]}]),
                   encoding="utf-8")
    refused = runner.invoke(app, ["fees", "cards", "add", str(bad), "--as", "wang"])
    assert refused.exit_code == 2 and "card 1 of bad.json" in _text(refused.output)
    not_json = tmp_path / "x.json"
    not_json.write_text("{", encoding="utf-8")
    assert runner.invoke(app, ["fees", "cards", "add", str(not_json), "--as", "wang"]).exit_code == 2
    assert runner.invoke(app, ["fees", "cards", "add", str(good), "--as", "sun"]).exit_code == 2  # a technician
    missing = runner.invoke(app, ["fees", "compare", "--merchant", "999"])
    assert missing.exit_code == 2 and "merchant not found" in _text(missing.output)
    no_contract = runner.invoke(app, ["fees", "check", "--merchant", str(cli_db[1]), "--as", "zhao"])
    assert no_contract.exit_code == 2 and "no contract" in _text(no_contract.output)
    broken = tmp_path / "broken.csv"
    broken.write_text("date,channel,card_type,amount_fen,charged_fen\n2026-11-02,wire,debit,100,1\n", encoding="utf-8")
    row = runner.invoke(app, ["fees", "statement", "import", str(cli_db[1]), str(broken), "--as", "wang"])
    assert row.exit_code == 2 and "line 2" in _text(row.output)
