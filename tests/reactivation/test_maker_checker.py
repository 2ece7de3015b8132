"""Maker–checker on reactivation: who filed a request, paid into it or uploaded to it may not also approve it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from posops.app import create_app
from posops.cli import app as cli_app
from posops.core.auth import Principal, Role
from posops.core.config import Settings, get_settings
from posops.core.db import Database, utcnow
from posops.core.models import AuditEvent, User
from posops.reactivation import service as reactivation
from posops.reactivation.conditions import second_person_reasons
from posops.reactivation.schemas import PaymentEvidence, ReactivationRequestIn
from posops.terminals import service as terminals
from posops.terminals.models import Merchant, Terminal
from posops.terminals.schemas import FeePlanIn, SuspendIn
from tests.conftest import Fleet
from tests.helpers import add_colleague, cli_database, csrf_token, login
from tests.terminals.flows import FEE_PLAN, ok, pdf

SECOND_PERSON = "reactivation.error.second_person"


def _post(client: TestClient, fleet: Fleet, path: str, role: str, **body: Any) -> Any:
    return client.post(f"/api/v1{path}", headers=fleet.headers(role), json=body)


def _owed_request(client: TestClient, fleet: Fleet, filer: str, payer: str) -> dict[str, Any]:
    """A terminal suspended for ten days' arrears, a request filed by ``filer``, paid in full by ``payer``."""
    terminal = fleet.terminals_a[0]
    ok(client.put(f"/api/v1/merchants/{fleet.merchant_a}/fee-plan", headers=fleet.headers("agent"), json=FEE_PLAN))
    ok(_post(client, fleet, f"/terminals/{terminal}/suspend", "agent", reason="arrears", note="欠费",
             unpaid_due_dates=[(date.today() - timedelta(days=10)).isoformat()]))
    request = ok(_post(client, fleet, f"/terminals/{terminal}/reactivation-requests", filer, note="已缴清"), 201)
    paid = ok(_post(client, fleet, f"/reactivation-requests/{request['id']}/evidence", payer, kind="payment",
                    amount_fen=request["arrears"]["remaining_fen"], voucher="BANK-0001",
                    paid_on=date.today().isoformat()))
    assert paid["unmet"] == [] and paid["needs_second_person"] is True
    return paid


def _approve(client: TestClient, fleet: Fleet, request_id: int, role: str) -> Any:
    return client.post(f"/api/v1/reactivation-requests/{request_id}/approve", headers=fleet.headers(role))


def _unchanged(client: TestClient, fleet: Fleet, db: Database, request: dict[str, Any]) -> None:
    """The refused approval changed nothing: request submitted, terminal suspended, no approval audited."""
    now = ok(client.get(f"/api/v1/reactivation-requests/{request['id']}", headers=fleet.headers("merchant")))
    assert (now["status"], now["terminal_status"], now["decided_by"]) == ("submitted", "suspended", None)
    with db.transaction() as session:
        actions = set(session.scalars(select(AuditEvent.action)))
    assert "approve" not in actions and "reactivate" not in actions


def test_the_agent_who_filed_a_payment_request_cannot_approve_it(client: TestClient, fleet: Fleet,
                                                                 db: Database) -> None:
    request = _owed_request(client, fleet, filer="agent", payer="merchant")
    seen = ok(client.get(f"/api/v1/reactivation-requests/{request['id']}", headers=fleet.headers("agent")))
    assert "approve" not in seen["allowed_actions"] and "reject" in seen["allowed_actions"]
    assert "同一人不能既经办又批准" in seen["approval_refused"]["zh-CN"]
    refused = _approve(client, fleet, request["id"], "agent")
    assert refused.status_code == 403
    detail = refused.json()["detail"]
    assert detail["code"] == SECOND_PERSON and "you filed it" in detail["message"]["en"]
    assert "您提交了这份申请" in detail["message"]["zh-CN"]
    _unchanged(client, fleet, db, request)
    colleague = add_colleague(db, fleet, "agent")
    other = ok(client.get(f"/api/v1/reactivation-requests/{request['id']}", headers=fleet.headers(colleague)))
    assert "approve" in other["allowed_actions"] and other["approval_refused"] is None
    approved = ok(_approve(client, fleet, request["id"], colleague))
    assert (approved["status"], approved["terminal_status"], approved["decided_by"]) == \
        ("approved", "active", colleague)


def test_the_agent_who_recorded_the_voucher_cannot_approve_it(client: TestClient, fleet: Fleet,
                                                              db: Database) -> None:
    request = _owed_request(client, fleet, filer="merchant", payer="agent")
    refused = _approve(client, fleet, request["id"], "agent")
    assert refused.status_code == 403 and refused.json()["detail"]["code"] == SECOND_PERSON
    assert "you recorded its payment voucher" in refused.json()["detail"]["message"]["en"]
    _unchanged(client, fleet, db, request)
    assert ok(_approve(client, fleet, request["id"], add_colleague(db, fleet, "agent")))["status"] == "approved"


def test_a_merchant_paid_request_is_approved_by_the_desk(client: TestClient, fleet: Fleet) -> None:
    request = _owed_request(client, fleet, filer="merchant", payer="merchant")
    assert ok(_approve(client, fleet, request["id"], "agent"))["status"] == "approved"


def test_whoever_uploaded_a_document_or_imposed_a_risk_suspension_cannot_approve(client: TestClient, fleet: Fleet,
                                                                                 db: Database) -> None:
    terminal, imposer = fleet.terminals_a[0], add_colleague(db, fleet, "risk", "risk_imposer")
    ok(_post(client, fleet, f"/terminals/{terminal}/suspend", imposer, reason="risk_limit", note="限额",
             documents_requested=["情况说明"]))
    request = ok(_post(client, fleet, f"/terminals/{terminal}/reactivation-requests", "merchant"), 201)
    ok(client.post(f"/api/v1/reactivation-requests/{request['id']}/documents", headers=fleet.headers("risk"),
                   data={"name": "情况说明"}, files=pdf()), 201)
    uploaded = _approve(client, fleet, request["id"], "risk")
    assert uploaded.status_code == 403 and "you uploaded one of its documents" in \
        uploaded.json()["detail"]["message"]["en"]
    imposed = _approve(client, fleet, request["id"], imposer)
    assert imposed.status_code == 403 and "you imposed the suspension" in imposed.json()["detail"]["message"]["en"]
    _unchanged(client, fleet, db, request)
    assert ok(_approve(client, fleet, request["id"], add_colleague(db, fleet, "risk")))["status"] == "approved"


def _dormant_request_confirmed_by_agent(client: TestClient, fleet: Fleet) -> dict[str, Any]:
    terminal = fleet.terminals_a[0]
    ok(_post(client, fleet, f"/terminals/{terminal}/suspend", "agent", reason="dormant", note="久未使用"))
    request = ok(_post(client, fleet, f"/terminals/{terminal}/reactivation-requests", "agent"), 201)
    return ok(_post(client, fleet, f"/reactivation-requests/{request['id']}/evidence", "agent", kind="identity",
                    legal_id="91310000AAAA00001X"))


def test_a_dormant_terminal_may_still_be_reactivated_by_one_agent(client: TestClient, fleet: Fleet) -> None:
    request = _dormant_request_confirmed_by_agent(client, fleet)
    assert request["unmet"] == [] and request["needs_second_person"] is False
    assert ok(_approve(client, fleet, request["id"], "agent"))["status"] == "approved"


@pytest.fixture
def only_dormant(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """POSOPS_SECOND_PERSON_REASONS=dormant: the setting replaces the table's set."""
    monkeypatch.setenv("POSOPS_SECOND_PERSON_REASONS", "dormant")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_the_setting_replaces_the_reasons_that_need_a_second_person(only_dormant: None, client: TestClient,
                                                                    fleet: Fleet) -> None:
    dormant = _dormant_request_confirmed_by_agent(client, fleet)
    refused = _approve(client, fleet, dormant["id"], "agent")
    assert refused.status_code == 403 and refused.json()["detail"]["code"] == SECOND_PERSON
    arrears = ok(_post(client, fleet, f"/terminals/{fleet.terminals_a[2]}/reactivation-requests", "agent"), 201)
    ok(client.put(f"/api/v1/merchants/{fleet.merchant_a}/fee-plan", headers=fleet.headers("agent"), json=FEE_PLAN))
    ok(_post(client, fleet, f"/reactivation-requests/{arrears['id']}/evidence", "agent", kind="unpaid_bills",
             due_dates=[date.today().isoformat()]))  # due today: nothing owed yet
    assert ok(_approve(client, fleet, arrears["id"], "agent"))["status"] == "approved", "arrears left the set"


def test_an_unknown_reason_in_the_setting_refuses_to_start(settings: Settings) -> None:
    with pytest.raises(ValueError, match="arears"):
        second_person_reasons("arrears, arears")
    with pytest.raises(ValueError, match="unknown suspension reasons"):
        create_app(settings.model_copy(update={"second_person_reasons": "security,risk"}))
    assert second_person_reasons("") == frozenset()


def test_the_risk_officer_who_imposed_a_security_stop_cannot_relabel_it_away(client: TestClient, fleet: Fleet,
                                                                            db: Database) -> None:
    terminal = fleet.terminals_a[0]
    ok(_post(client, fleet, f"/terminals/{terminal}/suspend", "risk", reason="risk_limit", note="限额"))
    ok(_post(client, fleet, f"/terminals/{terminal}/suspension-reason", "risk", reason="security", note="升级"))
    lift = _post(client, fleet, f"/terminals/{terminal}/suspension-reason", "risk", reason="other", note="解除")
    assert lift.status_code == 403
    assert lift.json()["detail"]["code"] == "terminals.error.second_person_lift"
    assert "这次停机是您实施的" in lift.json()["detail"]["message"]["zh-CN"]
    state = ok(client.get(f"/api/v1/terminals/{terminal}/lifecycle", headers=fleet.headers("agent")))
    assert (state["status"], state["status_reason"]) == ("suspended", "security")
    colleague = add_colleague(db, fleet, "risk")
    moved = ok(_post(client, fleet, f"/terminals/{terminal}/suspension-reason", colleague, reason="other",
                     note="核实无风险"))
    assert moved["status_reason"] == "other"


def test_the_console_says_why_the_filer_cannot_approve(client: TestClient, fleet: Fleet, db: Database) -> None:
    request = _owed_request(client, fleet, filer="agent", payer="merchant")
    url = f"/reactivation-requests/{request['id']}"
    login(client, "agent", lang="en")
    page = client.get(url)
    assert 'data-testid="second-person-reason"' in page.text and "you filed it" in page.text
    assert 'disabled aria-disabled="true" data-testid="approve"' in page.text
    refused = client.post(f"{url}/approve", data={"csrf_token": csrf_token(page.text)})
    assert refused.status_code == 403 and "you filed it" in refused.text
    _unchanged(client, fleet, db, request)


@pytest.fixture
def cli_db(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Database]:
    """A migrated SQLite database the CLI uses, with two agents and a merchant's terminal."""
    db = cli_database(monkeypatch, tmp_path)
    with db.transaction() as session:
        merchant = Merchant(name="丙商户", legal_id="91310000CCCC00003Z")
        session.add(merchant)
        session.flush()
        session.add(Terminal(serial_number="SN-MC-0001", model="Landi A8", tid="55502001", mid="898310000555002",
                             merchant_id=merchant.id, activated_at=utcnow()))
        for name in ("wang", "li"):
            session.add(User(username=name, role="agent", password_hash="-", display_name=name))
    yield db
    get_settings.cache_clear()


def test_the_cli_refuses_the_filer_with_exit_2(cli_db: Database) -> None:
    with cli_db.transaction() as session:
        wang = session.scalars(select(User).where(User.username == "wang")).one()
        terminal = session.scalars(select(Terminal)).one()
    agent = Principal(wang.id, "wang", Role.AGENT)
    terminals.set_fee_plan(cli_db, agent, terminal.merchant_id, FeePlanIn.model_validate(FEE_PLAN))
    terminals.suspend_terminal(cli_db, agent, terminal.id, SuspendIn(
        reason="arrears", note="欠费", unpaid_due_dates=[date.today() - timedelta(days=10)]))
    request = reactivation.submit_request(cli_db, agent, terminal.id, ReactivationRequestIn(note="代商户申请"))
    assert request.arrears is not None
    reactivation.record_evidence(cli_db, agent, request.id, PaymentEvidence(
        kind="payment", amount_fen=request.arrears.remaining_fen, voucher="BANK-0002", paid_on=date.today()))
    runner = CliRunner()
    refused = runner.invoke(cli_app, ["terminals", "reactivate", "55502001", "--as", "wang"])
    text = " ".join(refused.output.split())
    assert refused.exit_code == 2 and "needs another approver" in text and "you filed it" in text
    assert reactivation.get_request(cli_db, agent, request.id).status == "submitted"
    done = runner.invoke(cli_app, ["terminals", "reactivate", "55502001", "--as", "li"])
    assert done.exit_code == 0 and "reactivated" in done.output, done.output


def test_relabelling_arrears_as_other_still_needs_a_second_person(client: TestClient, fleet: Fleet,
                                                                  db: Database) -> None:
    terminal = fleet.terminals_a[0]
    ok(client.put(f"/api/v1/merchants/{fleet.merchant_a}/fee-plan", headers=fleet.headers("agent"), json=FEE_PLAN))
    ok(_post(client, fleet, f"/terminals/{terminal}/suspend", "agent", reason="arrears", note="欠费",
             unpaid_due_dates=[(date.today() - timedelta(days=10)).isoformat()]))
    ok(_post(client, fleet, f"/terminals/{terminal}/suspension-reason", "agent", reason="other", note="改为其他"))
    request = ok(_post(client, fleet, f"/terminals/{terminal}/reactivation-requests", "merchant", note="请复机"), 201)
    confirmed = ok(_post(client, fleet, f"/reactivation-requests/{request['id']}/evidence", "agent",
                         kind="resolved_confirmed", note="已核实"))
    assert confirmed["unmet"] == [] and confirmed["needs_second_person"] is True, "the stop began as arrears"
    refused = _approve(client, fleet, request["id"], "agent")
    assert refused.status_code == 403 and refused.json()["detail"]["code"] == SECOND_PERSON
    _unchanged(client, fleet, db, request)
    colleague = add_colleague(db, fleet, "agent")
    assert ok(_approve(client, fleet, request["id"], colleague))["status"] == "approved"
