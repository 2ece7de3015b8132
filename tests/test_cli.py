"""The posops command line: migrate, demo fleet, users and tokens, and clear errors with exit code 2."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from posops.cli import app
from posops.core.config import get_settings
from posops.core.db import Database
from posops.core.models import ApiToken, User
from posops.demo_repairs import LOANER_MODELS
from posops.terminals.models import Terminal

runner = CliRunner()


@pytest.fixture
def cli_db(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Database:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("POSOPS_DATABASE_URL", url)
    get_settings.cache_clear()
    yield Database(url)  # type: ignore[misc]
    get_settings.cache_clear()


def test_commands_refuse_an_unmigrated_database(cli_db: Database) -> None:
    result = runner.invoke(app, ["demo", "load"])
    assert result.exit_code == 2
    assert "posops db upgrade" in result.output


def test_upgrade_demo_users_and_tokens(cli_db: Database) -> None:
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    loaded = runner.invoke(app, ["demo", "load", "--terminals", "40"])
    assert loaded.exit_code == 0, loaded.output
    assert "posops-agent-demo" in loaded.output and "6 merchants, 40 terminals" in loaded.output
    again = runner.invoke(app, ["demo", "load", "--terminals", "40"])
    assert "6 merchants, 40 terminals" in again.output, "loading twice does not double the fleet"
    with cli_db.transaction() as session:
        assert session.scalar(select(func.count(Terminal.id))) == 40 + len(LOANER_MODELS), "and the loaner pool"
        models = set(session.scalars(select(Terminal.model)))
    assert models == {"PAX A920", "Newland N910", "Landi A8", "Sunmi P2", "Verifone X990"}

    created = runner.invoke(app, ["users", "create", "wang", "--role", "agent"], input="long-enough-1\nlong-enough-1\n")
    assert created.exit_code == 0, created.output
    token = runner.invoke(app, ["tokens", "create", "--user", "wang"])
    assert token.exit_code == 0
    clear = token.output.strip().splitlines()[-1]
    assert clear.startswith("pos_")
    with cli_db.transaction() as session:
        user = session.scalars(select(User).where(User.username == "wang")).one()
        hashes = list(session.scalars(select(ApiToken.token_hash).where(ApiToken.user_id == user.id)))
    assert len(hashes) == 1 and clear not in hashes[0]


def test_bad_input_exits_2_with_a_message(cli_db: Database) -> None:
    runner.invoke(app, ["db", "upgrade"])
    short = runner.invoke(app, ["users", "create", "li", "--role", "agent"], input="short\nshort\n")
    assert short.exit_code == 2 and "password" in short.output
    merchant_without = runner.invoke(app, ["users", "create", "li", "--role", "merchant"],
                                     input="long-enough-1\nlong-enough-1\n")
    assert merchant_without.exit_code == 2 and "required for merchant users" in merchant_without.output
    no_user = runner.invoke(app, ["tokens", "create", "--user", "nobody"])
    assert no_user.exit_code == 2 and "nobody" in no_user.output
    bad_role = runner.invoke(app, ["users", "create", "li", "--role", "boss"], input="long-enough-1\nlong-enough-1\n")
    assert bad_role.exit_code == 2
