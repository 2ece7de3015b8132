"""`posops users disable/enable/role/password/unlock` and `posops tokens create/list/revoke`; bad input exits 2."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from posops.cli import app
from posops.core import accounts
from posops.core.auth import OPERATOR
from posops.core.config import Settings, get_settings
from posops.core.db import Database, utcnow
from posops.core.models import User
from posops.core.throttle import LoginThrottled

runner = CliRunner()
PASSWORDS = "long-enough-1\nlong-enough-1\n"


@pytest.fixture
def cli_db(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Database]:
    """A migrated database the CLI is pointed at, with an admin and an agent."""
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("POSOPS_DATABASE_URL", url)
    get_settings.cache_clear()
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    for username, role in (("root", "admin"), ("wang", "agent")):
        created = runner.invoke(app, ["users", "create", username, "--role", role], input=PASSWORDS)
        assert created.exit_code == 0, created.output
    yield Database(url)
    get_settings.cache_clear()


def _user(db: Database, username: str) -> User:
    with db.transaction() as session:
        return session.scalars(select(User).where(User.username == username)).one()


def test_disable_enable_role_and_password(cli_db: Database) -> None:
    disabled = runner.invoke(app, ["users", "disable", "wang"])
    assert disabled.exit_code == 0 and "disabled user wang" in disabled.output
    assert _user(cli_db, "wang").active is False
    assert runner.invoke(app, ["users", "enable", "wang"]).exit_code == 0
    assert _user(cli_db, "wang").active is True

    role = runner.invoke(app, ["users", "role", "wang", "--role", "technician"])
    assert role.exit_code == 0 and "technician" in role.output
    assert _user(cli_db, "wang").role == "technician"

    changed = runner.invoke(app, ["users", "password", "wang"], input="new-password-3\nnew-password-3\n")
    assert changed.exit_code == 0, changed.output
    settings = Settings(database_url=cli_db.url)
    assert accounts.login(cli_db, settings, "wang", "new-password-3", "cli-test") is not None


def test_tokens_are_listed_without_their_values_and_revoked(cli_db: Database) -> None:
    created = runner.invoke(app, ["tokens", "create", "--user", "wang", "--name", "nightly"])
    clear = created.output.strip().splitlines()[-1]
    listed = runner.invoke(app, ["tokens", "list", "--user", "wang"])
    assert listed.exit_code == 0 and "nightly" in listed.output and clear[:8] in listed.output
    assert clear not in listed.output and "active" in listed.output
    token_id = accounts.list_tokens(cli_db, OPERATOR, "wang")[0].id

    revoked = runner.invoke(app, ["tokens", "revoke", str(token_id), "--user", "wang"])
    assert revoked.exit_code == 0 and clear[:8] in revoked.output
    assert accounts.list_tokens(cli_db, OPERATOR, "wang")[0].revoked_at is not None
    assert "revoked" in runner.invoke(app, ["tokens", "list", "--user", "wang"]).output


def test_tokens_have_a_lifetime_shown_in_the_list(cli_db: Database) -> None:
    created = runner.invoke(app, ["tokens", "create", "--user", "wang", "--name", "week", "--days", "7"])
    assert created.exit_code == 0 and "expires" in created.output
    (token,) = accounts.list_tokens(cli_db, OPERATOR, "wang")
    assert token.expires_at is not None and token.expires_at.date() == (token.created_at + timedelta(days=7)).date()
    listed = runner.invoke(app, ["tokens", "list", "--user", "wang"])
    assert "expires" in listed.output
    assert token.expires_at.astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m-%d") in listed.output
    accounts.create_token(cli_db, OPERATOR, "wang", "old", days=1, now=utcnow() - timedelta(days=2))
    assert "expired" in runner.invoke(app, ["tokens", "list", "--user", "wang"]).output
    assert runner.invoke(app, ["tokens", "create", "--user", "wang", "--days", "0"]).exit_code == 2


def test_unlock_lets_a_locked_out_user_sign_in_again(cli_db: Database) -> None:
    settings = Settings(database_url=cli_db.url)
    for _ in range(settings.login_pair_failures):
        accounts.login(cli_db, settings, "wang", "wrong-password", "cli-test")
    with pytest.raises(LoginThrottled):
        accounts.login(cli_db, settings, "wang", "long-enough-1", "cli-test")
    unlocked = runner.invoke(app, ["users", "unlock", "wang"])
    assert unlocked.exit_code == 0 and "unlocked user wang" in unlocked.output
    assert accounts.login(cli_db, settings, "wang", "long-enough-1", "cli-test") is not None
    assert runner.invoke(app, ["users", "unlock", "nobody"]).exit_code == 2


@pytest.mark.parametrize(("args", "words"), [
    (["users", "disable", "nobody"], "nobody"),
    (["users", "enable", "nobody"], "nobody"),
    (["users", "disable", "root"], "last active administrator"),
    (["users", "role", "root", "--role", "agent"], "last active administrator"),
    (["users", "role", "wang", "--role", "merchant"], "merchant"),
    (["users", "role", "wang", "--role", "agent", "--merchant-id", "7"], "merchant"),
    (["users", "role", "wang", "--role", "system"], "role"),
    (["users", "role", "wang", "--role", "boss"], "boss"),
    (["tokens", "list", "--user", "nobody"], "nobody"),
    (["tokens", "revoke", "999", "--user", "wang"], "no token 999"),
    (["tokens", "revoke", "first", "--user", "wang"], "token_id"),
])
def test_bad_input_exits_2_with_a_message(cli_db: Database, args: list[str], words: str) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert words in result.output.lower()
    assert _user(cli_db, "root").active and _user(cli_db, "root").role == "admin"
    assert _user(cli_db, "wang").role == "agent"


def test_a_short_password_exits_2_and_keeps_the_old_one(cli_db: Database) -> None:
    result = runner.invoke(app, ["users", "password", "wang"], input="short\nshort\n")
    assert result.exit_code == 2 and "password" in result.output
    settings = Settings(database_url=cli_db.url)
    assert accounts.login(cli_db, settings, "wang", "long-enough-1", "cli-test") is not None
