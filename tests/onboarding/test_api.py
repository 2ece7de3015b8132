"""Onboarding applications through the API: filing, the checklist, review, going live, bad input."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from posops.core.config import Settings
from posops.core.db import Database
from posops.core.models import AuditEvent
from posops.terminals.models import FeePlan, Merchant, Terminal
from tests.conftest import Fleet
from tests.helpers import error_fields
from tests.terminals.flows import CONTACT, PDF, merchant_application, new_device, ok, pdf, take_live

WALK_IN = {"applicant_type": "business", "name": "福州鼓楼茶行", "legal_id": "91350100M000100Y43",
           "contact_name": "林先生", "contact_phone": "13905910000", "region": "福州", "terminal_model": "Landi A8"}


def _base(application_id: int) -> str:
    return f"/api/v1/onboarding/applications/{application_id}"


def test_a_walk_in_business_goes_live_as_a_new_merchant(client: TestClient, fleet: Fleet, db: Database) -> None:
    agent = fleet.headers("agent")
    app = ok(client.post("/api/v1/onboarding/applications", headers=agent, json=WALK_IN), 201)
    assert app["status"] == "draft" and app["merchant_id"] is None and app["unified_licence"] is True
    required = {m["material"] for m in app["materials"] if m["required"]}
    optional = {m["material"] for m in app["materials"] if not m["required"]}
    assert optional == {"tax_registration"} and "business_licence" in required
    for material in required:
        ok(client.put(f"{_base(app['id'])}/materials/{material}", headers=agent, files=pdf()))
    ok(client.post(f"{_base(app['id'])}/submit", headers=agent))
    assert client.get(_base(app["id"]), headers=fleet.headers("merchant")).status_code == 404
    device = new_device()
    live = take_live(client, fleet, app["id"], device)
    with db.transaction() as session:
        merchant = session.scalars(select(Merchant).where(Merchant.legal_id == WALK_IN["legal_id"])).one()
        terminal = session.scalars(select(Terminal).where(Terminal.serial_number == device["serial_number"])).one()
        plan = session.get(FeePlan, merchant.id)
        assert (merchant.name, merchant.region, live["merchant_id"]) == ("福州鼓楼茶行", "福州", merchant.id)
        assert (terminal.status, terminal.merchant_id, terminal.tid, terminal.region) == (
            "active", merchant.id, device["tid"], "福州")
        assert plan is not None and plan.daily_penalty_bp == 5


def test_an_individual_needs_id_card_and_bank_account(client: TestClient, fleet: Fleet) -> None:
    body = {**WALK_IN, "applicant_type": "individual", "name": "王小明", "legal_id": "11010519491231002X"}
    app = ok(client.post("/api/v1/onboarding/applications", headers=fleet.headers("agent"), json=body), 201)
    assert [m["material"] for m in app["materials"]] == ["application_form", "id_card", "bank_account"]
    assert [c["subject"] for c in app["next_missing"]] == ["application_form", "id_card", "bank_account"]
    wrong = client.put(f"{_base(app['id'])}/materials/business_licence", headers=fleet.headers("agent"), files=pdf())
    assert wrong.status_code == 422 and error_fields(wrong) == ["material"]
    assert "not on the checklist" in wrong.json()["detail"]["message"]["en"]


def test_legal_ids_are_checked(client: TestClient, fleet: Fleet) -> None:
    for legal_id, words in (("91350100M000100Y44", "check character"), ("ABC", "unified social credit code")):
        response = client.post("/api/v1/onboarding/applications", headers=fleet.headers("agent"),
                               json={**WALK_IN, "legal_id": legal_id})
        assert response.status_code == 422 and words in response.json()["detail"]["message"]["en"]
        assert error_fields(response) == ["legal_id"]
    other = client.post("/api/v1/onboarding/applications", headers=fleet.headers("merchant"),
                        json={**WALK_IN, "legal_id": "91350100M000100Y43"})
    assert other.status_code == 422 and "on record" in other.json()["detail"]["message"]["en"]
    bad_count = client.post("/api/v1/onboarding/applications", headers=fleet.headers("merchant"),
                            json={"applicant_type": "business", "terminal_model": "PAX A920", "terminal_count": 0,
                                  **CONTACT})
    assert bad_count.status_code == 422 and error_fields(bad_count) == ["terminal_count"]


def test_submission_refused_with_the_missing_materials_then_review(client: TestClient, fleet: Fleet) -> None:
    merchant, agent = fleet.headers("merchant"), fleet.headers("agent")
    app = ok(client.post("/api/v1/onboarding/applications", headers=merchant,
                         json={"applicant_type": "business", "terminal_model": "PAX A920", **CONTACT}), 201)
    assert (app["name"], app["legal_id"]) == ("甲商户", "91310000AAAA00001X"), "filled in from the merchant"
    early = client.post(f"{_base(app['id'])}/submit", headers=merchant)
    assert early.status_code == 409
    assert {c["subject"] for c in early.json()["detail"]["unmet"]} == {
        "application_form", "business_licence", "legal_rep_id", "premises_proof", "bank_account"}
    out_of_order = client.post(f"{_base(app['id'])}/approve", headers=agent)
    assert out_of_order.status_code == 409 and out_of_order.json()["detail"]["code"] == "illegal_transition"

    submitted = merchant_application(client, fleet)
    base = _base(submitted["id"])
    assert client.post(f"{base}/start-review", headers=merchant).status_code == 403
    ok(client.post(f"{base}/start-review", headers=agent))
    ok(client.post(f"{base}/materials/bank_account/reject", headers=agent, json={"reason": "户名与执照不符"}))
    not_yet = client.post(f"{base}/approve", headers=agent)
    assert not_yet.status_code == 409 and "bank_account" in {c["subject"] for c in not_yet.json()["detail"]["unmet"]}
    rejected = ok(client.post(f"{base}/reject", headers=agent, json={"reason": "结算账户证明需更换"}))
    assert rejected["status"] == "rejected" and rejected["rejection_reason"] == "结算账户证明需更换"
    assert client.post(f"{base}/resubmit", headers=merchant).status_code == 409, "the material is still sent back"
    ok(client.put(f"{base}/materials/bank_account", headers=merchant, files=pdf("bank2.pdf")))
    resubmitted = ok(client.post(f"{base}/resubmit", headers=merchant))
    assert resubmitted["status"] == "submitted" and resubmitted["rejection_reason"] is None
    bank = next(m for m in resubmitted["materials"] if m["material"] == "bank_account")
    assert (bank["state"], bank["document"]["filename"]) == ("provided", "bank2.pdf")


def test_later_steps_check_their_data(client: TestClient, fleet: Fleet) -> None:
    agent = fleet.headers("agent")
    app = merchant_application(client, fleet)
    base = _base(app["id"])
    ok(client.post(f"{base}/start-review", headers=agent))
    for item in ok(client.get(base, headers=agent))["materials"]:
        if item["state"] == "provided":
            ok(client.post(f"{base}/materials/{item['material']}/verify", headers=agent))
    ok(client.post(f"{base}/approve", headers=agent))
    bad_plan = client.post(f"{base}/contract", headers=agent,
                           json={"contract_ref": "HT-1", "fee_plan": {"monthly_fee_fen": -1, "daily_penalty_bp": 5,
                                                                      "grace_days": 5}})
    assert bad_plan.status_code == 422 and error_fields(bad_plan) == ["fee_plan.monthly_fee_fen"]
    ok(client.post(f"{base}/contract", headers=agent, json={"contract_ref": "HT-1", "fee_plan": {
        "monthly_fee_fen": 3_000, "daily_penalty_bp": 5, "grace_days": 5}}))
    taken = {"serial_number": "SN-TEST-0000", "model": "Sunmi P2", "tid": "99990000", "mid": "898310000009999"}
    clash = client.post(f"{base}/installation", headers=agent, json={"devices": [taken]})
    assert clash.status_code == 422
    assert error_fields(clash) == ["devices.0.serial_number"]
    twice = client.post(f"{base}/installation", headers=agent, json={"devices": [new_device()] * 2})
    assert twice.status_code == 422 and error_fields(twice) == ["devices"]
    assert "the same serial_number is given twice" in twice.json()["detail"]["message"]["en"]
    ok(client.post(f"{base}/installation", headers=agent, json={"devices": [new_device()]}))
    unverified = client.post(f"{base}/training", headers=agent, json={"installation_verified": False})
    assert unverified.status_code == 409
    assert [c["code"] for c in unverified.json()["detail"]["unmet"]] == ["installation_not_verified"]
    assert ok(client.get(base, headers=agent))["installation_verified"] is False, "a refused step saves nothing"


def test_material_files_are_kept_on_disk_and_downloadable(client: TestClient, fleet: Fleet,
                                                          settings: Settings, db: Database) -> None:
    merchant = fleet.headers("merchant")
    app = ok(client.post("/api/v1/onboarding/applications", headers=merchant,
                         json={"applicant_type": "business", "terminal_model": "PAX A920", **CONTACT}), 201)
    url = f"{_base(app['id'])}/materials/application_form"
    ok(client.put(url, headers=merchant, files=pdf("申请表.pdf")))
    ok(client.put(url, headers=merchant, files={"file": ("申请表.png", b"\x89PNG\r\n\x1a\n..", "image/png")}))
    stored = sorted(Path(settings.var_dir, "uploads", "onboarding", str(app["id"])).iterdir())
    assert len(stored) == 2, "an upload never overwrites the previous file"
    download = client.get(f"{url}/file", headers=fleet.headers("agent"))
    assert download.status_code == 200 and download.headers["content-type"] == "image/png"
    assert client.get(f"{_base(app['id'])}/materials/bank_account/file", headers=merchant).status_code == 404
    refused = client.put(url, headers=merchant, files={"file": ("form.pdf", b"GIF89a", "application/pdf")})
    assert refused.status_code == 422
    assert len(list(Path(settings.var_dir, "uploads", "onboarding", str(app["id"])).iterdir())) == 2
    with db.transaction() as session:
        uploads = list(session.scalars(select(AuditEvent).where(AuditEvent.action == "material.provide")))
    assert len(uploads) == 2 and uploads[1].after is not None and uploads[1].after["sha256"]
    assert PDF not in download.content


def test_corrections_only_before_submission_or_after_rejection(client: TestClient, fleet: Fleet) -> None:
    submitted = merchant_application(client, fleet)
    late = client.patch(_base(submitted["id"]), headers=fleet.headers("merchant"), json={"contact_name": "钱"})
    assert late.status_code == 409
    draft = ok(client.post("/api/v1/onboarding/applications", headers=fleet.headers("merchant"),
                           json={"applicant_type": "business", "terminal_model": "PAX A920", **CONTACT}), 201)
    patched = ok(client.patch(_base(draft["id"]), headers=fleet.headers("merchant"),
                              json={"contact_phone": "021-12345678", "terminal_count": 3}))
    assert (patched["contact_phone"], patched["terminal_count"]) == ("021-12345678", 3)
    bad: dict[str, Any] = {"contact_phone": "call me"}
    assert client.patch(_base(draft["id"]), headers=fleet.headers("merchant"), json=bad).status_code == 422
    queue = ok(client.get("/api/v1/onboarding/applications?status=submitted", headers=fleet.headers("agent")))
    assert [a["id"] for a in queue["items"]] == [submitted["id"]]
    assert client.get("/api/v1/onboarding/applications?status=done",
                      headers=fleet.headers("agent")).status_code == 422
