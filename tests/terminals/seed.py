"""Lifecycle records in every state the route tests need, written straight through the services and tables."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from posops.core.db import Database
from posops.onboarding import service as onboarding_service
from posops.onboarding.models import ApplicationMaterial, OnboardingApplication
from posops.reactivation import service as reactivation_service
from posops.reactivation.schemas import PaymentEvidence, ReactivationRequestIn, UnpaidBillsEvidence
from posops.terminals import service
from posops.terminals.models import Terminal
from posops.terminals.schemas import FeePlanIn
from tests.conftest import Fleet
from tests.helpers import make_terminal
from tests.terminals.flows import FEE_PLAN, PDF, UNIFIED_REQUIRED


@dataclass
class Seeded:
    """Ids of the seeded terminals, requests, applications and documents."""

    t_active: int
    t_decommission: int
    t_onboarding: int
    t_dormant: int
    t_b_dormant: int
    r_payable: int
    r_approvable: int
    r_rejectable: int
    r_resubmittable: int
    r_other_merchant: int
    document: int
    apps: dict[str, int]
    app_other_merchant: int


def _terminal(db: Database, merchant_id: int, n: int, status: str, reason: str | None = None) -> int:
    return make_terminal(db, merchant_id, serial_number=f"SN-SEED-{n:04d}", tid=f"8800{n:04d}",
                         mid=f"89831000008{n:04d}", status=status, status_reason=reason)


def _application(db: Database, merchant_id: int, status: str, materials: str | None,
                 **values: Any) -> int:
    """An application of merchant A's kind in `status`, its required materials all in state `materials`."""
    with db.transaction() as session:
        application = OnboardingApplication(status=status, applicant_type="business", merchant_id=merchant_id,
                                            name="甲商户", legal_id="91310000AAAA00001X",
                                            terminal_model="PAX A920", **values)
        session.add(application)
        session.flush()
        for material in UNIFIED_REQUIRED if materials else ():
            session.add(ApplicationMaterial(application_id=application.id, material=material, state=materials))
        return application.id


def seed_lifecycle(db: Database, fleet: Fleet, var_dir: Path) -> Seeded:
    """Create everything the lifecycle routes act on, for merchant A (and a little for merchant B)."""
    merchant, agent = fleet.users["merchant"], fleet.users["agent"]
    a, b = fleet.merchant_a, fleet.merchant_b
    for merchant_id in (a, b):
        service.set_fee_plan(db, agent, merchant_id, FeePlanIn(**FEE_PLAN))
    dues = [date.today() - timedelta(days=40)]
    t_other = _terminal(db, a, 1, "suspended", "other")
    t_fault = _terminal(db, a, 2, "suspended", "device_fault")
    seeded_terminals = {
        "t_active": _terminal(db, a, 3, "active"), "t_decommission": _terminal(db, a, 4, "active"),
        "t_onboarding": _terminal(db, a, 5, "onboarding"), "t_dormant": _terminal(db, a, 6, "suspended", "dormant"),
        "t_b_dormant": _terminal(db, b, 7, "suspended", "dormant")}
    # a request its approver took no part in, so the role matrix sees approval itself, not the maker–checker rule
    t_approvable = _terminal(db, a, 8, "suspended", "policy")

    def request(principal_name: str, terminal_id: int) -> int:
        return reactivation_service.submit_request(db, fleet.users[principal_name], terminal_id,
                                                   ReactivationRequestIn(note="seed")).id

    payable = request("merchant", fleet.terminals_a[2])
    reactivation_service.record_evidence(db, agent, payable, UnpaidBillsEvidence(kind="unpaid_bills", due_dates=dues))
    owed = reactivation_service.get_request(db, merchant, payable).arrears
    assert owed is not None
    reactivation_service.record_evidence(db, merchant, payable, PaymentEvidence(
        kind="payment", amount_fen=owed.total_fen, voucher="SEED-0001", paid_on=date.today()))
    document = reactivation_service.upload_document(db, merchant, var_dir, payable, "缴费凭证", "voucher.pdf",
                                                    "application/pdf", PDF)
    resubmittable = request("merchant", t_fault)
    reactivation_service.reject_request(db, agent, resubmittable, "维修工单未验收")
    _set_status(db, fleet.terminals_b[0], "suspended", "arrears")
    other_merchant = request("merchant_b", fleet.terminals_b[0])

    contract = {"contract_ref": "HT-SEED", "fee_plan": dict(FEE_PLAN)}
    device = [{"serial_number": "SN-LIVE-0001", "model": "PAX A920", "tid": "77000001", "mid": "898310000770001"}]
    apps = {
        "draft": _application(db, a, "draft", None),
        "ready": _application(db, a, "draft", "provided"),
        "submitted": _application(db, a, "submitted", "provided"),
        "reviewing": _application(db, a, "under_review", "provided"),
        "verified": _application(db, a, "under_review", "verified"),
        "rejectable": _application(db, a, "under_review", "provided"),
        "rejected": _application(db, a, "rejected", "provided", rejection_reason="照片模糊"),
        "approved": _application(db, a, "approved", "verified"),
        "contracted": _application(db, a, "contracted", "verified", **contract),
        "installing": _application(db, a, "installing", "verified", devices=device, **contract),
        "training": _application(db, a, "training", "verified", devices=device, installation_verified=True,
                                 **contract),
    }
    onboarding_service.upload_material(db, merchant, var_dir, apps["draft"], "application_form", "form.pdf",
                                       "application/pdf", PDF)
    app_b = _application(db, b, "draft", None)
    return Seeded(**seeded_terminals, r_payable=payable, r_approvable=request("merchant", t_approvable),
                  r_rejectable=request("merchant", t_other),
                  r_resubmittable=resubmittable, r_other_merchant=other_merchant, document=document.id, apps=apps,
                  app_other_merchant=app_b)


def _set_status(db: Database, terminal_id: int, status: str, reason: str | None) -> None:
    with db.transaction() as session:
        terminal = session.get(Terminal, terminal_id)
        assert terminal is not None
        terminal.status, terminal.status_reason = status, reason
