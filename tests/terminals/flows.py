"""Request helpers shared by the lifecycle tests: file an application, take it live, suspend a terminal."""

from __future__ import annotations

import html
import re
import uuid
from datetime import date, timedelta
from typing import Any

from fastapi.testclient import TestClient

from tests.conftest import Fleet

PDF = b"%PDF-1.7\n% scan\n"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"
FEE_PLAN = {"monthly_fee_fen": 3_000, "monthly_data_fee_fen": 1_000, "daily_penalty_bp": 5, "grace_days": 5}
UNIFIED_REQUIRED = ["application_form", "business_licence", "legal_rep_id", "premises_proof", "bank_account"]
CJK = re.compile(r"[\u3400-\u9fff\u3000-\u303f\uff00-\uffef]")
ENGLISH_WORDS = re.compile(r"[A-Za-z]{3,}[ ,;:']+[A-Za-z]{2,}")
"""Two English words in a row: a sentence, not a code such as SN-TEST-0000 or TID."""


def ok(response: Any, status: int = 200) -> dict[str, Any]:
    """Assert the status and return the JSON body."""
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    return body


CONTACT = {"contact_name": "林先生", "contact_phone": "13905910000"}
"""Who a provider calls back about an application: every application names them."""


def pdf(name: str = "scan.pdf") -> dict[str, Any]:
    """A multipart `file` field holding a small PDF."""
    return {"file": (name, PDF, "application/pdf")}


def new_device() -> dict[str, Any]:
    """A device record with a fresh serial number and TID."""
    n = uuid.uuid4().int % 10**6
    return {"serial_number": f"NL910-{n:06d}", "model": "Newland N910", "vendor": "Newland", "tid": f"66{n:06d}",
            "mid": "898310058120009", "app_version": "5.1.2"}


def merchant_application(client: TestClient, fleet: Fleet) -> dict[str, Any]:
    """Merchant A files an application, uploads the required materials and submits it."""
    merchant = fleet.headers("merchant")
    app = ok(client.post("/api/v1/onboarding/applications", headers=merchant,
                         json={"applicant_type": "business", "terminal_model": "Newland N910", **CONTACT}), 201)
    for material in UNIFIED_REQUIRED:
        ok(client.put(f"/api/v1/onboarding/applications/{app['id']}/materials/{material}", headers=merchant,
                      files=pdf(f"{material}.pdf")))
    return ok(client.post(f"/api/v1/onboarding/applications/{app['id']}/submit", headers=merchant))


def take_live(client: TestClient, fleet: Fleet, application_id: int, device: dict[str, Any] | None = None,
              ) -> dict[str, Any]:
    """An agent reviews, approves, contracts, installs, trains and takes the application live."""
    agent = fleet.headers("agent")
    base = f"/api/v1/onboarding/applications/{application_id}"
    ok(client.post(f"{base}/start-review", headers=agent))
    app = ok(client.get(base, headers=agent))
    for item in app["materials"]:
        if item["state"] == "provided":
            ok(client.post(f"{base}/materials/{item['material']}/verify", headers=agent))
    ok(client.post(f"{base}/approve", headers=agent))
    ok(client.post(f"{base}/contract", headers=agent, json={"contract_ref": "HT-2024-0042", "fee_plan": FEE_PLAN}))
    ok(client.post(f"{base}/installation", headers=agent, json={"devices": [device or new_device()]}))
    ok(client.post(f"{base}/training", headers=agent, json={"installation_verified": True}))
    return ok(client.post(f"{base}/go-live", headers=agent, json={"training_done": True}))


def suspend_for_arrears(client: TestClient, fleet: Fleet, terminal_id: int, months: int = 2) -> dict[str, Any]:
    """An agent suspends a terminal for arrears with `months` unpaid monthly bills."""
    today = date.today()
    dues = [(today - timedelta(days=30 * (i + 1))).isoformat() for i in range(months)]
    return ok(client.post(f"/api/v1/terminals/{terminal_id}/suspend", headers=fleet.headers("agent"),
                          json={"reason": "arrears", "note": "两个月服务费未缴", "unpaid_due_dates": dues}))


def shown_refusal(page: str) -> str:
    """The words of the refusal a console page shows: its refusal box, else its error page's detail ('' if none)."""
    match = re.search(r'data-testid="refusal">\s*<p>(.*?)</p>', page, re.S) or \
        re.search(r'data-testid="error-detail">(.*?)</p>', page, re.S)
    return html.unescape(match.group(1)).strip() if match else ""


def assert_refused_in(lang: str, response: Any, words: str, *, status: int = 422) -> None:
    """A console form was refused with ``status`` and its refusal box says ``words``, all in the page's language."""
    assert response.status_code == status, response.text[:500]
    shown = shown_refusal(response.text)
    assert words in shown, shown
    assert_said_in(lang, shown)


def assert_said_in(lang: str, text: str) -> None:
    """A zh-CN refusal is Chinese with no English sentence in it; an English one has no Chinese."""
    assert text, "the page shows a refusal"
    if lang == "en":
        assert not CJK.search(text) and ENGLISH_WORDS.search(text), text
    else:
        assert CJK.search(text) and not ENGLISH_WORDS.search(text), text
